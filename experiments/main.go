package main

import (
	"embed"
	"io/fs"
	"os"

	"github.com/adjointkit/adjointkit/experiments/internal/runner"
)

// configFiles holds experiments/configs/. The default suite is the *.toml
// files directly in it; subfolders (configs/paper/) are not part of it.
//
//go:embed configs
var configFiles embed.FS

func main() {
	suite, err := fs.Sub(configFiles, runner.SuiteDir)
	if err != nil {
		panic(err) // the embedded folder always exists
	}
	os.Exit(runner.Main(suite))
}
