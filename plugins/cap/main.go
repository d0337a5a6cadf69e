// Command cap is privlm's built-in "cap" plugin (see framework/plugin/builtin).
package main

import (
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/plugin/builtin"
)

func main() { plugin.Serve(&builtin.Cap{}) }
