// Command experiments runs adjointkit's experiments from TOML config files
// and writes, for each, a report that says with numbers whether every
// gradient it used was verified.
//
// # Usage
//
//	go run ./experiments                      # the default suite
//	go run ./experiments -quick               # the same, smaller (what the tests run)
//	go run ./experiments -list                # experiments by theme, parameters, default configs
//	go run ./experiments -only two_layer      # the default configs of one experiment
//	go run ./experiments -config experiments/configs/paper/maml_sinusoid_paper.toml -out /tmp/out
//	go run ./experiments -config experiments/configs/sweeps/train_mlp_lr.toml -j 2   # a sweep
//	go run ./experiments -config experiments/configs/sweeps/train_mlp_lr.toml -shard 0/3 -out out/shard-0
//	go run ./experiments -out out/sweep -merge out/shard-0 out/shard-1 out/shard-2
//
// The default suite is every *.toml file directly in experiments/configs/.
// The configs are embedded in the binary, so it runs from any directory.
// Subfolders such as configs/paper/ (long, paper-scale runs) are not part of
// the suite; run their files with -config.
//
// # Flags
//
//	-config FILE      run FILE from disk instead of the default suite; repeat
//	                  the flag or give a comma-separated list for several files
//	-out DIR          write reports into DIR (default "out")
//	-list             list every registered experiment, by theme, with its
//	                  summary, its [params] keys and defaults, its default configs
//	-only NAME        run only the selected configs of experiment NAME
//	-quick            shrink every config's sizes with its experiment's Quick
//	                  function; tolerances stay as they are
//	-seed N           use seed N for every config, overriding the files' seed
//	-log-every D      when the output is not a terminal, print a progress line
//	                  at least this often during a config (default 10s)
//	-j N              run up to N jobs at once (default 1); more than the cores
//	                  this process may use (GOMAXPROCS) is cut to that, with a note
//	-shard i/k        run only shard i of k (0 ≤ i < k) of the jobs: those whose
//	                  number is i modulo k (see Sweeps and shards)
//	-shard auto       the shard of this task of a Slurm job array
//	                  (SLURM_ARRAY_TASK_ID, _MIN, _COUNT) or pod of a Kubernetes
//	                  Indexed Job (JOB_COMPLETION_INDEX, with -shards k or
//	                  EXPERIMENTS_SHARDS=k); an error when neither is set
//	-force            run sweeps of more than 1000 runs
//	-merge DIR...     run nothing: combine the output folders DIR... (given
//	                  after the flags; only -out may come with it) into -out
//
// # Exit status
//
//	0  every run succeeded and no verification check failed
//	1  a run failed (error, panic, missing figure), a check failed, or the
//	   run was interrupted (Ctrl-C or SIGTERM)
//	2  bad flags, bad config files (a bad [sweep] too), an -out that is not
//	   a writable folder, or folders that -merge cannot merge: nothing was
//	   run or written
//
// Config files are all checked before anything runs, and every problem in
// every file is reported, each as FILE:LINE: naming the key: unknown keys
// (with the valid ones), values of the wrong type, NaN and infinities, values
// out of range (with the allowed range), unknown experiments (with the
// registered ones), and two files with the same output name.
//
// # Config files
//
// A config file names an experiment and gives its parameters:
//
//	# experiments/configs/two_layer.toml
//	experiment = "two_layer"   # required: a registered experiment (see -list)
//	title = "The chain rule"   # optional; default: the experiment's own title
//	seed = 1                   # optional integer; default 1; -seed overrides it
//
//	[params]                   # the experiment's parameters
//	x = [0.5, -1.5]
//	hidden = 3
//	fd_tol = 1e-6
//
// Only experiment, title, seed and the [params] table (with sub-tables such
// as [params.solver] where an experiment has them) may appear. Keys in
// [params] are decoded on top of the experiment's defaults, so omitted keys
// keep their defaults. Keys are case-sensitive. Integers are accepted where a
// number is expected, but not the other way round.
//
// A file writes OUT/NAME/, where NAME is its base name without ".toml"
// (letters, digits, '.', '-', '_'). Two configs of one run may not share a
// NAME.
//
// # Sweeps and shards
//
// A [sweep] table makes one config many runs: lists of values for any
// [params] keys (nested keys dotted, as "solver.rtol" = [...], or in a
// [sweep.solver] table), run as their grid product, and seeds, a count
// (seeds = 3: the config's seed, or -seed, and the next two) or a list
// (seeds = [1, 7, 42]; then neither seed nor -seed may be given):
//
//	# experiments/configs/sweeps/train_mlp_lr.toml
//	experiment = "train_mlp"
//	[params]
//	steps = 1000
//	[sweep]
//	lr = [0.005, 0.01, 0.02]
//	seeds = 3
//
// The sweep's values replace those of [params]. Points run in grid order,
// the first key slowest and the last fastest, each point once per seed.
// Each run writes a folder of its own, named from its values:
//
//	NAME,KEY=VALUE,...,seed=SEED     train_mlp_lr,lr=0.005,seed=1
//
// the keys in file order, each value as TOML writes it (0.003, 1e-06, 32,
// true, strings without quotes), an array of numbers as its elements
// joined by '_' (hidden=32_32), and every other byte than letters, digits,
// '.', '_', '+' and '-' (and a final '.') as %XX: names every file system
// accepts, the same on every machine, one per run. Every point is checked
// like a config (types, NaN and ±Inf, the experiment's Validate, -quick)
// before anything runs; a bad sweep is reported at the [sweep] key's line:
// an unknown key, an empty list, a repeated value, a value rejected at
// some point, or more than 1000 runs without -force.
//
// Once every run of a sweep is done, OUT/NAME holds its summary: the
// experiment's headline metric (each experiment names one) per point, mean
// ± sample standard deviation over its seeds, as a table and a figure with
// error bars and the single runs, and checks that every run is present and
// passed. The index lists a sweep's runs under it.
//
// Jobs (the runs of every config, a plain config being one run) are
// numbered in the order the configs are listed (the default suite by name,
// -config files as given), each sweep's runs in grid order. -shard i/k runs
// the jobs whose number is i modulo k: shards differ by at most one job,
// and a sweep's runs are dealt out in turn. Give every shard the same
// configs and flags, and its own -out; then -merge copies the shards'
// report folders into one -out, writes the sweeps' summaries and the index.
// The merged folder's results.json files are byte for byte those of one
// unsharded run (the tests check it). -merge refuses, writing nothing, a
// folder that is not an output folder, the same run with different
// results in two folders, and runs of two different sweeps of one name.
// deploy/ holds a Slurm array script and Kubernetes Indexed Job manifests
// that run a sweep this way.
//
// # Output
//
//	OUT/NAME/report.md      the report (Markdown), ending with its Verification section
//	OUT/NAME/report.html    the same, as a page of its own
//	OUT/NAME/*.png, *.svg   the figures it shows (an SVG beside a PNG is linked)
//	OUT/NAME/results.json   parameters, metrics and checks (no timings)
//	OUT/NAME/timings.json   how long the run took, for the next run's estimate
//	OUT/index.md            every report folder in OUT (from this run or an
//	OUT/index.html          earlier one) grouped by theme, with PASS/FAIL;
//	                        index.html shows each report in full, the runs of
//	                        a sweep as a list under the sweep
//	OUT/NAME,KEY=VALUE,.../ a run of a sweep: the same files as OUT/NAME/
//	OUT/NAME/               for a sweep: its summary (report.md, report.html,
//	                        headline.png, results.json)
//
// A report's status is PASS if it has checks and all passed, FAIL if any
// failed, and NO CHECKS if it has none (its Verification section then says
// that nothing was verified). The HTML is rendered from the Markdown by
// goldmark (CommonMark with GitHub's tables); tables of more than a dozen
// rows are collapsed.
//
// Reports are written atomically: a run writes into a temporary folder
// OUT/.tmp-ID-NAME that replaces OUT/NAME only once the run has succeeded, so
// a run that fails or is interrupted leaves the earlier OUT/NAME as it was (a
// run whose checks fail still replaces it: its report shows the failure).
// Each run holds a lock file OUT/.run-ID.lock while it runs; at start, a run
// removes the temporary files of runs that are gone (killed outright) and
// leaves those of runs still going.
//
// The same config and seed give the same results.json, byte for byte, and
// the same report.md except for its "## Timings" section, the only place
// wall-clock times appear.
//
// On a terminal the runner redraws one progress line: the number of jobs
// done, the progress of each running job and an estimate of the time left
// for the whole run (from the previous run's timings.json where there is
// one, shared among the -j workers). In a log it prints a line when each
// job starts and ends and, during a long job, a progress line every 10 s.
// With -j, jobs may finish in any order; their files do not depend on it.
// Keep the default suite under five minutes on two cores.
//
// # How to write an experiment
//
// An experiment is a file exp_NAME.go (and, for checks of its own parts,
// exp_NAME_test.go) with a configuration, a result, and three small
// functions, registered with runner.Register:
//
//	Compute  (env, config) → result     the numbers; no files, no report text
//	Figures  (dir, config, result)      the figures, written to dir.Path(file)
//	Report   (rep, config, result)      prose, tables, figures' captions, metrics, checks
//
// two_layer (theme nn), ode_adjoint_methods (ode) and heat_inverse
// (physics) are written this way; copy their shape. Step by step:
//
//  1. The configuration is a struct of the [params] keys, each field tagged
//     `toml:"key"` and commented with its meaning, unit and range. Every
//     tolerance or threshold of a check has type runner.Tol. A Validate
//     method returns errors.Join of runner.InRange, runner.OneOf and
//     runner.ParamErrorf, one per key, each naming its key; a key whose
//     range depends on another is checked only once the other is valid (one
//     error, not one per dependent entry). The runner already rejects NaN
//     and ±Inf in every float field and negative tolerances.
//
//  2. Quick shrinks sizes only: n = min(n, 20), fewer solvers, shorter
//     windows. It may not change a Tol (the runner rejects that) and should
//     not loosen solver tolerances either: -quick must verify the same
//     claims as a full run. Where a check cannot hold at a small size, pick
//     a larger quick size, or switch to a different check through a field of
//     the configuration that the report states (as maml_sinusoid's
//     outcome_check), and say why in a comment beside it. Nothing else may
//     depend on -quick: Compute never learns whether it is on.
//
//  3. The result is a struct with everything Figures and Report need:
//     gradients, errors, traces, histories and wall times (time.Duration or
//     seconds; they go to the Timings section only). Compute fills it. It
//     draws random numbers from env.Rand(), checks env.Context().Err()
//     between steps, reports progress with env.Progress(done, total, what)
//     (or env.StepProgress for a library loop with a progress callback, such
//     as nn.Trainer's), and returns an error that says where and why on
//     numerical failure. Models come from package physics (LotkaVolterra in
//     either parameter order, Robertson, Pendulum, ...), never a copy.
//
//  4. Figures draws with package plots only, leaving styling (fonts, ticks,
//     legend placement) to the plots theme: Legend is left at its zero
//     value unless the legend must sit outside (plots.Outside). It computes
//     nothing that can fail except the drawing. Every figure written is
//     shown in the report, and every figure shown is written (the registry
//     test checks both).
//
//  5. Report writes the text from the result. A sentence that states an
//     outcome comes from the number that shows it: runner.Compare ("smaller
//     than"), runner.Trend ("increases"), runner.Choose and rep.Claim pick
//     the words, and the sentence quotes the numbers. Captions say what the
//     figure shows, not what it is hoped to show. Metrics are deterministic
//     numbers (they go to results.json); wall-clock times go through
//     rep.Timing and nowhere else. One of them, named whatever the
//     configuration, is the Spec's Headline: the number a sweep's summary
//     tabulates (the registry test checks that the report records it).
//     Checks come last: rep.Check(name, err, tol) against a runner.Tol,
//     rep.CheckTrue(name, ok, detail) for yes/no properties, with detail
//     quoting the numbers.
//
//  6. Shared helpers (relErr, bestTime, sortByX, subscript, the physics fit
//     figures and gradient checks) live in helpers.go and exp_phys_common.go;
//     search there before writing one. Tests in exp_NAME_test.go check what is
//     specific to the experiment (a hand-written formula against its
//     definition, a reference value recomputed independently, a report
//     sentence that must follow the numbers: build a result, spoil it, call
//     the Report function and read rep.Text()). Running the experiment with
//     -quick is already done for every experiment by TestRegistry, which
//     also checks that its results are deterministic; do not clone it.
//
// The skeleton:
//
//	type fooConfig struct {
//		N     int        `toml:"n"`      // grid points, 2 to 10000
//		FDTol runner.Tol `toml:"fd_tol"` // adjoint vs central differences, relative
//	}
//
//	func (c fooConfig) Validate() error {
//		return errors.Join(runner.InRange("n", c.N, 2, 10000), runner.InRange("fd_tol", c.FDTol, 0, 1))
//	}
//
//	type fooResult struct {
//		grad, fd []float64
//		seconds  float64
//	}
//
//	func init() {
//		runner.Register(runner.Spec[fooConfig, fooResult]{
//			Name: "foo", Theme: "adjoint",
//			Summary:  "What the experiment shows, in one line.",
//			Defaults: func() fooConfig { return fooConfig{N: 1000, FDTol: 1e-6} },
//			Quick:    func(c *fooConfig) { c.N = min(c.N, 50) },
//			Headline: "adjoint vs central differences",
//			Compute:  computeFoo,
//			Figures:  fooFigures,
//			Report:   fooReport,
//		})
//	}
//
//	func computeFoo(env *runner.Env, c fooConfig) (*fooResult, error)      { ... }
//	func fooFigures(dir runner.Dir, c fooConfig, res *fooResult) error    { ... plots.Save(dir.Path("grad.png"), ...) }
//	func fooReport(rep *runner.Report, c fooConfig, res *fooResult) {
//		rep.Heading("Gradient")
//		rep.Figure("grad.png", "The adjoint gradient and central differences.")
//		e := relErr(res.grad, res.fd)
//		rep.Paraf("The largest relative difference is %s, %s the tolerance %s.",
//			runner.Num(e), runner.Compare(e, float64(c.FDTol)), runner.Num(float64(c.FDTol)))
//		rep.Timing("gradient", res.seconds)
//		rep.Metric("adjoint vs central differences", e)
//		rep.Check("adjoint vs central differences", e, c.FDTol)
//	}
package main
