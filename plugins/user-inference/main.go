// Command user-inference is privlm's built-in "user-inference" plugin (see framework/plugin/builtin).
package main

import (
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/plugin/builtin"
)

func main() { plugin.Serve(&builtin.UserInference{}) }
