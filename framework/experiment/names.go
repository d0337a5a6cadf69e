package experiment

import (
	"fmt"
	"strings"
)

// maxStageNameLen bounds a plugin's name in stage folder names.
const maxStageNameLen = 64

// pluginStageName is the name a plugin's stages, score labels and manifest
// entries use: the name the plugin reports in its Info, reduced to
// [A-Za-z0-9._-] without leading dots. A plugin given as a path is named by
// what it says it is, never by the path, so that every stage stays under
// --out/stages.
func pluginStageName(info string) (string, error) {
	b := []byte(strings.TrimLeft(info, "."))
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			b[i] = '_'
		}
	}
	if len(b) > maxStageNameLen {
		b = b[:maxStageNameLen]
	}
	if len(b) == 0 || strings.Trim(string(b), "_.") == "" {
		return "", fmt.Errorf("plugin name %q has no usable characters", info)
	}
	return string(b), nil
}

// checkStageName refuses a stage name that could leave the stages folder.
func checkStageName(name string) error {
	if name == "" || strings.ContainsAny(name, `/\`) || strings.HasPrefix(name, ".") {
		return fmt.Errorf("stage name %q: want a name without slashes or a leading dot", name)
	}
	return nil
}
