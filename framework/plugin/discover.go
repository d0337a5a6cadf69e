package plugin

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"sync"
)

// DirEnvVar names extra plugin directories (separated by the OS list separator).
const DirEnvVar = "PRIVLM_PLUGINS"

// ModulePath is privlm's module path, used to find the source of built-ins.
const ModulePath = "github.com/privlm/privlm"

// Dirs returns the plugin directories searched: $PRIVLM_PLUGINS, then the
// directory built-ins are built into.
func Dirs() []string {
	var dirs []string
	if env := os.Getenv(DirEnvVar); env != "" {
		dirs = append(dirs, filepath.SplitList(env)...)
	}
	return append(dirs, BuiltinDir())
}

// BuiltinDir is where BuildBuiltins puts the built-in plugin binaries.
func BuiltinDir() string {
	if d := os.Getenv("PRIVLM_CACHE"); d != "" {
		return filepath.Join(d, "plugins")
	}
	if d, err := os.UserCacheDir(); err == nil {
		return filepath.Join(d, "privlm", "plugins")
	}
	return filepath.Join(os.TempDir(), "privlm-plugins")
}

// Discover lists the executable files in dirs; a plugin binary's file name
// is its plugin name. Earlier directories win on name clashes.
func Discover(dirs ...string) (map[string]string, error) {
	found := map[string]string{}
	for _, dir := range dirs {
		entries, err := os.ReadDir(dir)
		if os.IsNotExist(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		for _, e := range entries {
			info, err := e.Info()
			if err != nil || !info.Mode().IsRegular() || info.Mode()&0o111 == 0 || strings.HasPrefix(e.Name(), ".") {
				continue
			}
			if _, dup := found[e.Name()]; !dup {
				found[e.Name()] = filepath.Join(dir, e.Name())
			}
		}
	}
	return found, nil
}

// Find returns the binary of the named plugin, or a path given directly.
func Find(nameOrPath string, dirs ...string) (string, error) {
	if strings.ContainsRune(nameOrPath, os.PathSeparator) {
		if _, err := os.Stat(nameOrPath); err != nil {
			return "", fmt.Errorf("plugin %s: %w", nameOrPath, err)
		}
		return nameOrPath, nil
	}
	found, err := Discover(dirs...)
	if err != nil {
		return "", err
	}
	if p, ok := found[nameOrPath]; ok {
		return p, nil
	}
	names := make([]string, 0, len(found))
	for n := range found {
		names = append(names, n)
	}
	sort.Strings(names)
	return "", fmt.Errorf("unknown plugin %q (found in %s: %s)", nameOrPath, strings.Join(dirs, ", "), strings.Join(names, ", "))
}

// ModuleRoot finds privlm's source tree above the working directory.
func ModuleRoot() (string, error) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for dir := wd; ; dir = filepath.Dir(dir) {
		if f, err := os.Open(filepath.Join(dir, "go.mod")); err == nil {
			sc := bufio.NewScanner(f)
			sc.Scan()
			f.Close()
			if strings.TrimSpace(sc.Text()) == "module "+ModulePath {
				return dir, nil
			}
		}
		if filepath.Dir(dir) == dir {
			return "", fmt.Errorf("privlm's source tree (go.mod of %s) is not above %s: build the plugins yourself (go build -o DIR ./plugins/...) and set %s=DIR", ModulePath, wd, DirEnvVar)
		}
	}
}

// lastBuild remembers this process's last BuildBuiltins: the source tree's
// fingerprint then, and each binary it left in the directory (name to size
// and modification time), so that a repeated call with nothing changed
// skips the build (go build relinks every binary each time: seconds).
var lastBuild struct {
	sync.Mutex
	root, dir, sources string
	binaries           map[string]string
}

// builds counts the go builds BuildBuiltins ran in this process.
var builds int

// sourceFingerprint hashes the path, size and modification time of every
// Go file, go.mod and go.sum under root (hidden, build, bin and results
// folders left out): any edit to the plugins or to the framework they
// import changes it.
func sourceFingerprint(root string) (string, error) {
	h := sha256.New()
	err := filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		name := d.Name()
		if d.IsDir() {
			if path != root && (strings.HasPrefix(name, ".") || ((name == "build" || name == "bin" || name == "results") && filepath.Dir(path) == root)) {
				return filepath.SkipDir
			}
			return nil
		}
		if strings.HasSuffix(name, ".go") || name == "go.mod" || name == "go.sum" {
			info, err := d.Info()
			if err != nil {
				return err
			}
			fmt.Fprintf(h, "%s\x00%d\x00%d\n", path, info.Size(), info.ModTime().UnixNano())
		}
		return nil
	})
	return fmt.Sprintf("%x", h.Sum(nil)), err
}

// binaryStamps returns name to size and modification time of the files in
// dir.
func binaryStamps(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, e := range entries {
		if info, err := e.Info(); err == nil && info.Mode().IsRegular() {
			out[e.Name()] = fmt.Sprintf("%d/%d", info.Size(), info.ModTime().UnixNano())
		}
	}
	return out, nil
}

// BuildBuiltins compiles the built-in plugins (./plugins/...) into
// BuiltinDir(). A repeated call in the same process skips the build when
// no source file under the module root changed (by path, size and
// modification time) and the binaries it left are still the ones there
// (another checkout may share BuiltinDir).
func BuildBuiltins() (string, error) {
	root, err := ModuleRoot()
	if err != nil {
		return "", err
	}
	dir := BuiltinDir()
	lastBuild.Lock()
	defer lastBuild.Unlock()
	sources, err := sourceFingerprint(root)
	if err != nil {
		return "", fmt.Errorf("plugins: reading the sources under %s: %w", root, err)
	}
	if lastBuild.root == root && lastBuild.dir == dir && lastBuild.sources == sources {
		if now, err := binaryStamps(dir); err == nil && sameStamps(lastBuild.binaries, now) {
			return dir, nil
		}
	}
	lastBuild.sources = ""
	builds++
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	// Build beside the directory, then rename changed binaries into place:
	// a running plugin's binary is never written to.
	tmp, err := os.MkdirTemp(filepath.Dir(dir), ".plugins-build-*")
	if err != nil {
		return "", err
	}
	defer os.RemoveAll(tmp)
	cmd := exec.Command("go", "build", "-o", tmp+string(os.PathSeparator), "./plugins/...")
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("building the built-in plugins: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(tmp)
	if err != nil {
		return "", err
	}
	for _, e := range entries {
		built, target := filepath.Join(tmp, e.Name()), filepath.Join(dir, e.Name())
		if same, _ := sameFile(built, target); same {
			continue
		}
		if err := os.Rename(built, target); err != nil {
			return "", err
		}
	}
	stamps, err := binaryStamps(dir)
	if err != nil {
		return "", err
	}
	mine := map[string]string{}
	for _, e := range entries {
		mine[e.Name()] = stamps[e.Name()]
	}
	lastBuild.root, lastBuild.dir, lastBuild.sources, lastBuild.binaries = root, dir, sources, mine
	return dir, nil
}

// sameStamps reports whether every binary in want is in now, unchanged.
func sameStamps(want, now map[string]string) bool {
	if len(want) == 0 {
		return false
	}
	for name, stamp := range want {
		if now[name] != stamp {
			return false
		}
	}
	return true
}

func sameFile(a, b string) (bool, error) {
	ha, err := SHA256File(a)
	if err != nil {
		return false, err
	}
	hb, err := SHA256File(b)
	if err != nil {
		return false, err
	}
	return ha == hb, nil
}

// Build compiles the plugin whose main package is in srcDir into
// outDir/<name> (the binary's name is the plugin's name) and returns the
// binary's path. srcDir is built with the go command of PATH, as a package
// of whatever module holds it.
func Build(srcDir, outDir, name string) (string, error) {
	if name == "" || strings.ContainsAny(name, `/\`) {
		return "", fmt.Errorf("plugin name %q: want a file name", name)
	}
	if err := os.MkdirAll(outDir, 0o755); err != nil {
		return "", err
	}
	target, err := filepath.Abs(filepath.Join(outDir, name))
	if err != nil {
		return "", err
	}
	tmp := filepath.Join(filepath.Dir(target), "."+name+".tmp")
	cmd := exec.Command("go", "build", "-o", tmp, ".")
	cmd.Dir = srcDir
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		os.Remove(tmp)
		return "", fmt.Errorf("building plugin %s from %s: %v\n%s", name, srcDir, err, out)
	}
	return target, os.Rename(tmp, target)
}
