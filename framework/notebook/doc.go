// Package notebook is what privlm's GoNB notebooks stand on, and how CI
// runs them.
//
// In a notebook: Mode picks quick (CI-sized, minutes on a CPU) or full
// (paper scale) from one variable; Open gives the notebook's results
// folder, results/<notebook>/<mode>; Page.Table writes a table as Parquet
// there and shows it, Page.Figure does the same for a plot, and
// Page.Status is a log writer shown as one updating status line. Outside a
// notebook (go run, tests) the same calls print plain text.
//
// For CI: Execute runs a notebook headlessly with Jupyter's nbconvert and
// the GoNB kernel, and Check reads an executed notebook and reports every
// error output, anything written to stderr (GoNB prints failed shell
// commands and compiler errors there without failing the cell) and every
// code cell left unexecuted.
package notebook
