// Command zlib is privlm's built-in "zlib" plugin (see framework/plugin/builtin).
package main

import (
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/plugin/builtin"
)

func main() { plugin.Serve(&builtin.Zlib{}) }
