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
package runner
