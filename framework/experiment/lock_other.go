//go:build !unix

package experiment

import "time"

// lockDir does not lock on platforms without flock: concurrent runs on one
// --out are not detected there.
func lockDir(dir string) (unlock func(), err error) { return func() {}, nil }

// lockStage does not lock on platforms without flock: processes sharing a
// stages directory there may compute a stage twice.
func lockStage(path string) (unlock func(), waited time.Duration, err error) {
	return func() {}, 0, nil
}
