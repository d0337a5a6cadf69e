// Package datasets converts each dataset privlm knows into the Parquet data
// contract of package framework/data, from the copies in ../shared/data and
// from the datasets' canonical public formats, so a researcher with the full
// data uses the same code:
//
//	reddit       Reddit posts/comments; user = author ([deleted], AutoModerator, bots dropped)
//	arxiv        arXiv abstracts; user = first author
//	enron        Enron mail; user = sender, one id per person (NormalizeSender);
//	             quotes stripped, a sender's exact duplicates kept once
//	email        SpamAssassin ham; user = From: address (npm package, cached);
//	             quotes stripped
//	shakespeare  speeches; user = play/speaker
//	ccnews       CC-News articles a user supplies; user = web domain
//	glue-sst2, glue-qnli, glue-qqp, glue-mnli   GLUE tasks; one user per example
//
// Mail bodies lose quoted replies and forwarded mails (StripQuoted) unless
// ConvertOptions.KeepQuotes. Prepare runs a converter and writes the
// Parquet file atomically; PrepareWith takes the options.
package datasets
