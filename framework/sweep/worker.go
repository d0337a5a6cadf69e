package sweep

import (
	"context"
	"fmt"
	"io"
	"os"
	"strconv"

	"github.com/privlm/privlm/framework/experiment"
)

// Worker runs one unit of a sweep, from its command line: "DIR --shared"
// (the stages shared by the points) or "DIR --point I", where I may be
// "array" for $SLURM_ARRAY_TASK_ID.
func Worker(ctx context.Context, args []string, log io.Writer) error {
	if len(args) != 2 && len(args) != 3 {
		return fmt.Errorf("sweep worker: want DIR --shared or DIR --point I, got %q", args)
	}
	dir := args[0]
	switch {
	case len(args) == 2 && args[1] == "--shared":
		return experiment.RunSweepShared(ctx, dir, log)
	case len(args) == 3 && args[1] == "--point":
		v := args[2]
		if v == "array" {
			v = os.Getenv("SLURM_ARRAY_TASK_ID")
			if v == "" {
				return fmt.Errorf("sweep worker: --point array outside a Slurm array job (SLURM_ARRAY_TASK_ID is unset)")
			}
		}
		i, err := strconv.Atoi(v)
		if err != nil {
			return fmt.Errorf("sweep worker: --point %q: want a point index", v)
		}
		return experiment.RunSweepPoint(ctx, dir, i, log)
	}
	return fmt.Errorf("sweep worker: want DIR --shared or DIR --point I, got %q", args)
}

// DefaultCommand is how executors start a worker: this program's
// "sweep worker".
func DefaultCommand() ([]string, error) {
	exe, err := os.Executable()
	if err != nil {
		return nil, err
	}
	return []string{exe, "sweep", "worker"}, nil
}
