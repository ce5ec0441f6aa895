package runner

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
)

// -merge DIR... combines output folders, typically those the shards of one
// run wrote, into -out without running anything: it copies every report
// folder of the DIRs into -out (replacing a folder of the same name there,
// as a run does), writes the summary of every sweep with runs among them,
// and writes the index. -out may be one of the DIRs, and a single DIR may
// be given to rewrite its summaries and index (after shards wrote into one
// shared folder, say). Everything is checked before anything is written:
// a DIR that is not an output folder, a report folder found in two DIRs
// with different results.json, or runs of one sweep that come from
// different configs are bad input (exit status 2).

// mergeSource is one report folder to merge.
type mergeSource struct {
	dir string // the folder
	rec *runRecord
}

// runMerge runs -merge.
func runMerge(opts options, stdout, stderr io.Writer) int {
	sources, sweeps, errs := scanMerge(opts.dirs, opts.out)
	if len(errs) > 0 {
		for _, e := range errs {
			fmt.Fprintf(stderr, "experiments: -merge: %v\n", e)
		}
		fmt.Fprintf(stderr, "experiments: %s; nothing was merged\n", Count(len(errs), "problem", "problems"))
		return ExitBadInput
	}
	out := openOutSaying(opts.out, stdout, stderr)
	if out == nil {
		return ExitBadInput
	}
	defer out.close()

	code := ExitOK
	copied, inPlace := 0, 0
	for _, s := range sources {
		if same, _ := samePath(s.dir, filepath.Join(opts.out, s.rec.name)); same {
			inPlace++
			continue
		}
		if err := out.copyIn(s.dir, s.rec.name); err != nil {
			fmt.Fprintf(stderr, "experiments: -merge: copying %s: %v\n", s.dir, err)
			code = ExitFailed
			continue
		}
		copied++
	}
	fmt.Fprintf(stdout, "merged %s from %s into %s (%d copied, %d already there)\n",
		Count(len(sources), "report folder", "report folders"), Count(len(opts.dirs), "folder", "folders"), opts.out, copied, inPlace)

	for _, def := range sweeps {
		status, n, err := out.summarise(def.ref, def.quick)
		switch {
		case err != nil:
			code = ExitFailed
			fmt.Fprintf(stderr, "%s: summary of the sweep: %v\n", def.ref.Name, err)
			continue
		case status == statusFail:
			code = ExitFailed
		}
		fmt.Fprintf(stdout, "%-6s %-28s %9s  %s (summary of %d of %d runs)\n", summaryWord(status), def.ref.Name, "sweep",
			filepath.Join(opts.out, def.ref.Name, "report.md"), n, def.ref.runCount())
	}
	n, err := out.writeIndex()
	if err != nil {
		fmt.Fprintf(stderr, "experiments: writing the index: %v\n", err)
		return ExitFailed
	}
	fmt.Fprintf(stdout, "index of %s: %s\n", Count(n, "report", "reports"), filepath.Join(opts.out, "index.html"))
	return code
}

// mergedSweep is a sweep found among the folders to merge.
type mergedSweep struct {
	ref   *sweepRef
	quick bool
	from  string // the folder of the run ref comes from, for messages
}

// scanMerge reads the folders to merge and returns the report folders to
// copy (sweep summaries left out: they are written anew), the sweeps among
// them in name order, and every problem.
func scanMerge(dirs []string, out string) ([]mergeSource, []*mergedSweep, []error) {
	var errs []error
	byName := map[string]mergeSource{}
	var names []string
	for _, d := range dirs {
		fi, err := os.Stat(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !fi.IsDir() {
			errs = append(errs, fmt.Errorf("%s is a file, not an output folder", d))
			continue
		}
		entries, err := os.ReadDir(d)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		reports, index := 0, false
		for _, e := range entries {
			n := e.Name()
			if n == "index.md" {
				index = true
			}
			if !e.IsDir() || strings.HasPrefix(n, ".") {
				continue
			}
			dir := filepath.Join(d, n)
			rec, err := readRun(dir)
			if errors.Is(err, fs.ErrNotExist) {
				continue // not a report folder (_cache, say)
			}
			if err != nil {
				errs = append(errs, err)
				continue
			}
			reports++
			if rec.res.SweepSummary != nil {
				continue // a summary: written anew from the runs
			}
			if prev, ok := byName[n]; ok {
				if !bytes.Equal(prev.rec.raw, rec.raw) {
					errs = append(errs, fmt.Errorf("%s and %s are the same job with different results (results.json differs at line %d): "+
						"they come from different configs, flags or program versions; merge the output of one run", prev.dir, dir, firstDiffLine(prev.rec.raw, rec.raw)))
				}
				continue
			}
			byName[n] = mergeSource{dir: dir, rec: rec}
			names = append(names, n)
		}
		if reports == 0 && !index {
			errs = append(errs, fmt.Errorf("%s is not an output folder of the experiments runner: it has no index.md and no report folders (with results.json)", d))
		}
	}

	// The sweeps, each from the run with the lowest number; every other
	// run of the same name must belong to the same sweep.
	slices.Sort(names)
	sweeps := map[string]*mergedSweep{}
	var sweepNames []string
	for _, n := range names {
		s := byName[n]
		ref := s.rec.res.Sweep
		if ref == nil {
			continue
		}
		m, ok := sweeps[ref.Name]
		if !ok {
			sweeps[ref.Name] = &mergedSweep{ref: ref, quick: s.rec.res.Quick, from: s.dir}
			sweepNames = append(sweepNames, ref.Name)
			continue
		}
		if !m.ref.sameSweep(ref) || m.quick != s.rec.res.Quick {
			errs = append(errs, fmt.Errorf("%s and %s are runs of two different sweeps named %s (another config file, its values or its seeds, or -quick): "+
				"merge the runs of one of them", m.from, s.dir, ref.Name))
			continue
		}
		if ref.Run < m.ref.Run {
			m.ref, m.from = ref, s.dir
		}
	}
	var sources []mergeSource
	for _, n := range names {
		sources = append(sources, byName[n])
	}
	var out2 []*mergedSweep
	for _, n := range sweepNames {
		out2 = append(out2, sweeps[n])
	}
	slices.SortFunc(out2, func(a, b *mergedSweep) int { return strings.Compare(a.ref.Name, b.ref.Name) })
	return sources, out2, errs
}

// firstDiffLine returns the 1-based line at which a and b first differ.
func firstDiffLine(a, b []byte) int {
	n := min(len(a), len(b))
	i := 0
	for i < n && a[i] == b[i] {
		i++
	}
	return bytes.Count(a[:i], []byte("\n")) + 1
}

// samePath reports whether a and b name the same existing file or folder.
func samePath(a, b string) (bool, error) {
	fa, err := os.Stat(a)
	if err != nil {
		return false, err
	}
	fb, err := os.Stat(b)
	if err != nil {
		return false, err
	}
	return os.SameFile(fa, fb), nil
}

// copyIn copies the report folder src into o as o/name, through a
// temporary folder renamed into place, like a run's report.
func (o *outDir) copyIn(src, name string) error {
	tmp := o.tempName("tmp", name)
	if err := copyTree(src, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	if err := o.replaceDir(name, tmp); err != nil {
		os.RemoveAll(tmp)
		return err
	}
	return nil
}

// copyTree copies the folder src, with its files and folders, to dst,
// which must not exist.
func copyTree(src, dst string) error {
	return filepath.WalkDir(src, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(src, p)
		if err != nil {
			return err
		}
		target := filepath.Join(dst, rel)
		switch {
		case d.IsDir():
			return os.Mkdir(target, 0o755)
		case d.Type().IsRegular():
			data, err := os.ReadFile(p)
			if err != nil {
				return err
			}
			return os.WriteFile(target, data, 0o644)
		}
		return nil // symbolic links and the like: the runner writes none
	})
}
