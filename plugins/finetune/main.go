// Command finetune is privlm's built-in fine-tuner plugin (see framework/plugin/builtin).
package main

import (
	"github.com/privlm/privlm/framework/plugin"
	"github.com/privlm/privlm/framework/plugin/builtin"
)

func main() { plugin.Serve(&builtin.FineTuner{}) }
