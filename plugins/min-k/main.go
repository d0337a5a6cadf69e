// Command min-k is privlm's built-in "min-k" plugin (see framework/plugin/builtin).
package main

import (
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/plugin/builtin"
)

func main() { plugin.Serve(&builtin.MinK{}) }
