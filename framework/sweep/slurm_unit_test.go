package sweep

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

func TestExpandArray(t *testing.T) {
	tests := []struct {
		id   string
		want []string
	}{
		{"12_3", []string{"12_3"}},
		{"12", []string{"12"}},
		{"12_[0-2,5]", []string{"12_0", "12_1", "12_2", "12_5"}},
		{"7_[1,3-4%2]", []string{"7_1", "7_3", "7_4"}},
	}
	for _, tc := range tests {
		if got := expandArray(tc.id); !slices.Equal(got, tc.want) {
			t.Errorf("expandArray(%q) = %v, want %v", tc.id, got, tc.want)
		}
	}
}

// TestScript: the sbatch scripts carry the resources asked for, run the
// worker on the sweep directory, and quote what the shell would split.
func TestScript(t *testing.T) {
	dir := t.TempDir()
	s := Slurm{CPUs: 4, Mem: "16G", Time: "01:00:00", GPUs: 2, Partition: "gpu", Account: "proj", Extra: []string{"--qos=short", "#SBATCH --constraint=a100"},
		Setup: []string{"module load cuda"}, Command: []string{"/opt/my privlm/privlm", "sweep", "worker"}}
	shared, points, err := s.Script(dir)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(points)
	text := string(b)
	for _, want := range []string{"#SBATCH --cpus-per-task=4\n", "#SBATCH --mem=16G\n", "#SBATCH --time=01:00:00\n", "#SBATCH --gres=gpu:2\n",
		"#SBATCH --partition=gpu\n", "#SBATCH --account=proj\n", "#SBATCH --qos=short\n", "#SBATCH --constraint=a100\n", "module load cuda\n",
		"#SBATCH --job-name=" + JobName(dir) + "\n", "exec '/opt/my privlm/privlm' sweep worker " + dir + ` --point "$SLURM_ARRAY_TASK_ID"` + "\n",
		"#SBATCH --output=" + filepath.Join(dir, "logs", "point-%a-%A.out") + "\n"} {
		if !strings.Contains(text, want) {
			t.Errorf("points.sbatch lacks %q:\n%s", want, text)
		}
	}
	if strings.Index(text, "module load") < strings.LastIndex(text, "#SBATCH") {
		t.Error("a setup line comes before an #SBATCH line (sbatch stops reading options at the first command)")
	}
	b, _ = os.ReadFile(shared)
	if !strings.HasSuffix(string(b), "sweep worker "+dir+" --shared\n") {
		t.Errorf("shared.sbatch:\n%s", b)
	}
}
