// Package runner is the experiment runner behind the experiments command:
// the registry of experiments, the decoding and checking of TOML config
// files, the runs with their progress display, and the reports they write
// (report.md, report.html, results.json) with the index of them all.
//
// An experiment is registered from an init function with Register, as a
// Spec of three steps: Compute (configuration → result, no I/O), Figures
// (result → files) and Report (result → text, metrics and verification
// checks). The runner owns everything else: the seed and random streams
// (Env.Rand), cancellation on Ctrl-C and SIGTERM (Env.Context), progress
// (Env.Progress), the temporary folder a run writes into and its atomic
// replacement of the previous report, and the report's header, Metrics,
// Timings and Verification sections.
//
// Tolerances of verification checks have their own type, Tol: a Quick
// function (the -quick shrink) may not change one, and Report.Check takes
// its tolerance as one, so -quick verifies the same claims as a full run.
//
// Config problems are reported as FILE:LINE: messages naming the key and
// what is allowed, using the positions the toml package keeps for every key.
// Main and Run are the command; the experiments command is a thin main
// around Main that embeds the default suite.
//
// Sweeps, parallel runs, shards and merges are the runner's alone; an
// experiment knows nothing of them. A config's [sweep] table (sweep.go)
// expands into runs, one job each, with folders named from their values
// (runName); the runner checks every point with the experiment's Validate
// before anything runs. Jobs run up to -j at once (main.go, console.go),
// -shard picks a deterministic share of them for one task of a Slurm job
// array or a Kubernetes Indexed Job (shard.go), -merge combines the shards'
// folders (merge.go), and a sweep's summary — its experiment's headline
// metric (Spec.Headline) per point, mean ± standard deviation over seeds —
// is written from the runs' results.json alone (summary.go), so that
// sharded and merged runs give the same files as one run.
package runner
