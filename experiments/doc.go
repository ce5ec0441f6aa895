// Command experiments runs adjointkit's experiments from TOML config files
// and writes, for each, a report that says with numbers whether every
// gradient it used was verified.
//
// # Usage
//
//	go run ./experiments                     # the default suite
//	go run ./experiments -quick              # the same, shrunk (what the tests run)
//	go run ./experiments -list               # experiments, parameters, default configs
//	go run ./experiments -only gradcheck     # the default configs of one experiment
//	go run ./experiments -config experiments/configs/paper/ode_paper.toml -out /tmp/out
//
// The default suite is every *.toml file directly in experiments/configs/.
// The configs are embedded in the binary, so it runs from any directory.
// Subfolders such as configs/paper/ (long, paper-scale runs) are not part of
// the suite; run their files with -config.
//
// # Flags
//
//	-config FILE  run FILE from disk instead of the default suite; repeat
//	              the flag or give a comma-separated list for several files
//	-out DIR      write reports into DIR (default "out")
//	-list         list every registered experiment with its summary, its
//	              [params] keys and defaults, and its default configs
//	-only NAME    run only the selected configs of experiment NAME
//	-quick        shrink every config with its experiment's Quick function
//	-seed N       use seed N for every config, overriding the files' seed
//
// # Exit status
//
//	0  every run succeeded and no verification check failed
//	1  a run failed (error, panic, missing figure), a check failed, the run
//	   was interrupted, or the output could not be written
//	2  bad flags or bad config files: nothing was run and nothing written
//
// Config files are all checked before anything runs, and every problem in
// every file is reported, each as FILE:LINE: and naming the key: unknown keys
// (with the list of valid keys), values of the wrong type, values out of
// range (with the allowed range), unknown experiments (with the registered
// ones), and two files with the same output name.
//
// # Config files
//
// A config file names an experiment and gives its parameters:
//
//	# experiments/configs/mlp_gradflow.toml
//	experiment = "mlp-gradflow"   # required: a registered experiment (see -list)
//	title = "Gradient flow in a deep tanh MLP"   # optional; default: the experiment's summary
//	seed = 42                     # optional integer; default 1; -seed overrides it
//
//	[params]                      # the experiment's parameters
//	layers = 6
//	width = 32
//
//	[params.optimizer]            # nested tables, if the experiment has them
//	name = "adam"
//
// Only experiment, title, seed and the [params] table may appear at the top
// level. Keys in [params] are decoded into the experiment's configuration
// struct on top of its defaults, so omitted keys keep their defaults. Keys
// are case-sensitive. Integers are accepted where a float is expected, but
// not the other way round.
//
// A file writes OUT/NAME/, where NAME is its base name without ".toml"
// (letters, digits, '.', '-', '_'). Two configs of one run may not share a
// NAME.
//
// # Output
//
//	OUT/NAME/report.md      the report, ending with a "## Verification" section
//	OUT/NAME/*.png, ...     the figures it shows
//	OUT/NAME/results.json   parameters, metrics and checks (no timings)
//	OUT/NAME/fragment.html  the report as HTML, with links relative to OUT
//	OUT/index.md            every report folder in OUT (from this run or an
//	OUT/index.html          earlier one), with summary and PASS/FAIL status;
//	                        index.html shows each report in full
//
// A report's status is PASS if it has checks and all passed, FAIL if any
// failed, and NO CHECKS if it has none (the Verification section then says
// that nothing was verified).
//
// Reports are written atomically. Each run writes into a temporary folder
// OUT/.tmp-NAME-*, which replaces OUT/NAME only once the run has succeeded.
// A run that fails or is interrupted (Ctrl-C) leaves the earlier OUT/NAME as
// it was. A run whose checks fail still replaces it: its report shows the
// failure. index.md and index.html are replaced by renaming a temporary file
// over them. A run killed outright may leave a .tmp-* folder behind, which
// the index ignores and which is safe to delete.
//
// The same config and seed give the same results.json, byte for byte, and
// the same report.md except for its "## Timings" section, which lists
// wall-clock times (stripTimings removes it).
//
// On a terminal the runner shows an updating progress line for the running
// experiment; otherwise it prints one line when each config starts and one
// when it finishes, with its wall time. Keep the whole default suite under
// five minutes on two cores.
//
// # Writing an experiment
//
// An experiment is a typed configuration struct and a Spec, registered from
// an init function in its own file of this package:
//
//	type gradcheckConfig struct {
//		Layers int     `toml:"layers"`
//		Width  int     `toml:"width"`
//		Tol    float64 `toml:"tol"`
//	}
//
//	// Validate is optional; its errors stop the run before anything starts.
//	func (c gradcheckConfig) Validate() error {
//		return errors.Join(
//			inRange("layers", c.Layers, 1, 64),
//			inRange("width", c.Width, 1, 4096),
//			inRange("tol", c.Tol, 0, 1),
//		)
//	}
//
//	func init() {
//		register(Spec[gradcheckConfig]{
//			Name:     "gradcheck",
//			Summary:  "Adjoint gradients of an MLP against central differences.",
//			Defaults: func() gradcheckConfig { return gradcheckConfig{Layers: 4, Width: 16, Tol: 1e-6} },
//			Quick:    func(c *gradcheckConfig) { c.Width = min(c.Width, 4) },
//			Run:      runGradcheck,
//		})
//	}
//
//	func runGradcheck(r *Run, c gradcheckConfig) error {
//		rng := r.Rand() // seeded from r.Seed
//		// ... compute, checking r.Context().Err() and calling
//		// r.Progress(i, n, "layer 3") in long loops ...
//		// ... save a gonum/plot figure to r.Path("norms.png") ...
//		r.Report.Heading("Gradient norms")
//		r.Report.Figure("norms.png", "Gradient norm per layer.")
//		t := r.Report.Table("layer", "‖g‖", "rel. error")
//		t.Row(1, 0.25, 3e-9) // floats are shown with 3 significant digits
//		r.Report.Metric("max rel error", maxErr)
//		r.Report.Check("adjoint vs central differences", maxErr, c.Tol)
//		return nil
//	}
//
// Run's fields and methods give the seed, the quick flag, a generator (Rand),
// the figure folder (Path, Dir), progress (Progress), diagnostics (Logf) and
// cancellation (Context). Report's methods build the body of report.md:
// Heading, Subheading, Para, Paraf, Code, Table and Row, Figure; and record
// Metric, Timing, Check and CheckTrue. The runner writes the header (title,
// summary, seed, parameters) and the closing Metrics, Timings and
// Verification sections itself.
package main
