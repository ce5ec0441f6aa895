package runner

import (
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Tol is the tolerance of a verification check: the largest error the check
// accepts. Give every tolerance of a configuration this type. The runner
// treats Tol fields specially:
//
//   - a Quick function may not change them: -quick shrinks sizes, never
//     tolerances, so the tests verify the same claims as a full run. The
//     runner rejects a Quick that changes a Tol field (at registration, on
//     the defaults, and when a config is loaded);
//   - a Tol read from a config file must be a finite number ≥ 0;
//   - Report.Check takes its tolerance as a Tol, so a tolerance computed on
//     the fly must be converted explicitly, where a reader sees it.
type Tol float64

// Themes are the themes an experiment may belong to, in the order of the
// toolkit's packages in its README. The index groups reports by theme in
// this order.
var Themes = []string{"adjoint", "nn", "ode", "physics", "metalearn"}

// Spec describes one experiment as three steps, each a small function:
//
//	Compute  config → result      the numbers; no files, no report text
//	Figures  result → files       plots written with Dir.Path
//	Report   result → text        prose, tables, metrics and checks
//
// C is the configuration: a struct whose exported fields are the keys of the
// [params] table of a config file (see Register). R is the result: a struct
// holding everything Figures and Report need, so that neither computes
// anything that could fail or take long.
type Spec[C, R any] struct {
	// Name identifies the experiment in config files (experiment = "name"),
	// in -only and in -list: lower-case letters, digits, '-' and '_'.
	Name string

	// Theme is one of Themes: the package whose idea the experiment shows.
	Theme string

	// Summary is one line saying what the experiment shows, printed by
	// -list, under the report's title and in the index. It describes the
	// experiment whatever its configuration: sizes belong in Title.
	Summary string

	// Headline names the metric (Report.Metric) that sums up a run: the
	// number a sweep's summary tabulates and plots, per point, as mean ±
	// standard deviation over seeds. Name a metric the Report step records
	// for every configuration (its name must not depend on the
	// configuration). Empty means none: the experiment cannot be swept.
	Headline string

	// Title returns the report's title for a configuration (after -quick),
	// used when the config file sets none: it may state sizes ("on a
	// 2000-step recurrence"). Nil means the Summary.
	Title func(c C) string

	// Defaults returns the configuration that keys omitted from a config
	// file keep. It is called afresh for every config file, so it may
	// return slices. Nil means the zero C.
	Defaults func() C

	// Quick shrinks a configuration for -quick, which the tests use: fewer
	// steps, smaller sizes, the same code paths and the same checks. It is
	// applied after the file's values are decoded and validated, should
	// only reduce work (n = min(n, 20)), and must leave every Tol field as
	// it is (the runner rejects it otherwise). Where a check cannot hold at
	// a small size, Quick switches the configuration to a different check
	// through a field of its own (a mode the report states), with the
	// reason in a comment. Nil means -quick changes nothing.
	Quick func(c *C)

	// Compute runs the experiment and returns its result. It does no I/O:
	// it reports progress through env.Progress, draws random numbers from
	// env.Rand and returns soon after env.Context() is cancelled. A
	// returned error (or a panic) marks the run failed. Required.
	Compute func(env *Env, c C) (*R, error)

	// Figures writes the figures of a result to dir.Path(file) (normally
	// with plots.Save). Files written beside a figure with another
	// extension, such as x.svg beside x.png, are kept and linked from the
	// report. Nil means the experiment has no figures.
	Figures func(dir Dir, c C, res *R) error

	// Report describes the result: sections, prose (with outcome sentences
	// generated from the numbers, see Compare and Trend), tables, the
	// figures with their captions, metrics and verification checks.
	// Required.
	Report func(rep *Report, c C, res *R)
}

// experiment is a registered experiment with its types erased. Its
// configuration travels as a pointer to a C held in an any.
type experiment struct {
	name     string
	theme    string
	summary  string
	headline string       // the headline metric; "" if none
	typ      reflect.Type // the configuration struct type C

	title    func(cfg any) string // the title for a *C; nil if none
	defaults func() any           // a fresh *C holding the defaults
	quick    func(cfg any)        // applies Quick to a *C; nil if none
	validate func(cfg any) error  // calls Validate on a *C if it has one
	// run performs the experiment with a *C: compute, then figures into
	// dir, then the report.
	run func(env *Env, dir Dir, rep *Report, cfg any) error
}

// registry holds every registered experiment by name. It is filled by init
// functions and read-only afterwards; it is the package's only global
// mutable state.
var registry = map[string]*experiment{}

// validName is the form of an experiment name.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// Register adds an experiment to the registry. Call it from an init
// function, in any package the command imports.
//
// The keys of the configuration C are its exported fields' `toml:"..."` tag
// names (write the tag, in lower_snake_case), or the field names when there
// is no tag; keys are matched exactly, case included. Fields may be numbers,
// Tol, strings, booleans, slices of those, nested structs (sub-tables such
// as [params.solver]) and time.Duration (written as "1.5s" or integer
// nanoseconds). The runner rejects NaN and ±Inf in every float field.
//
// If *C or C has a method
//
//	Validate() error
//
// the runner calls it on the decoded configuration before anything runs and
// reports its errors as bad input (exit status 2). Build its errors with
// InRange, OneOf and Errorf, joined with errors.Join, so that each names
// its key; the runner adds the file and line.
//
// Register panics on programmer error: a malformed or duplicate name, an
// unknown theme, a missing Compute or Report, a configuration that is not a
// struct or has two fields with the same key, a Quick that changes a Tol
// field of the defaults, or a Headline with line breaks or surrounding
// spaces.
func Register[C, R any](s Spec[C, R]) {
	if s.Compute == nil || s.Report == nil {
		panic(fmt.Sprintf("runner: experiment %q needs Compute and Report", s.Name))
	}
	e := newExperiment(s.Name, s.Theme, s.Summary, s.Defaults, s.Quick, s.Title)
	if strings.TrimSpace(s.Headline) != s.Headline || strings.ContainsAny(s.Headline, "\r\n") {
		panic(fmt.Sprintf("runner: headline %q of %q must be a metric name on one line, without surrounding spaces", s.Headline, s.Name))
	}
	e.headline = s.Headline
	e.run = func(env *Env, dir Dir, rep *Report, cfg any) error {
		c := *cfg.(*C)
		res, err := s.Compute(env, c)
		if err != nil {
			return err
		}
		if res == nil {
			return fmt.Errorf("runner: Compute of %q returned no result and no error", s.Name)
		}
		if err := env.Context().Err(); err != nil {
			return err // a result computed while cancelled may be partial
		}
		if s.Figures != nil {
			if err := s.Figures(dir, c, res); err != nil {
				return fmt.Errorf("figures: %w", err)
			}
		}
		s.Report(rep, c, res)
		return nil
	}
	add(e)
}

// newExperiment checks and builds the type-erased parts of a Spec.
func newExperiment[C any](name, theme, summary string, defaults func() C, quick func(*C), title func(C) string) *experiment {
	if !validName.MatchString(name) {
		panic(fmt.Sprintf("runner: invalid experiment name %q (want lower-case letters, digits, '-' and '_')", name))
	}
	if _, dup := registry[name]; dup {
		panic(fmt.Sprintf("runner: experiment %q registered twice", name))
	}
	if !slices.Contains(Themes, theme) {
		panic(fmt.Sprintf("runner: experiment %q has theme %q; want one of %s", name, theme, strings.Join(Themes, ", ")))
	}
	if strings.ContainsAny(summary, "\r\n") {
		panic(fmt.Sprintf("runner: summary of %q must be one line", name))
	}
	t := reflect.TypeFor[C]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("runner: configuration of %q is %s, want a struct", name, t))
	}
	checkFields(name, t)
	e := &experiment{
		name: name, theme: theme, summary: summary, typ: t,
		defaults: func() any {
			c := new(C)
			if defaults != nil {
				*c = defaults()
			}
			return c
		},
		validate: func(cfg any) error {
			if v, ok := cfg.(interface{ Validate() error }); ok {
				return v.Validate()
			}
			return nil
		},
	}
	if title != nil {
		e.title = func(cfg any) string { return oneLine(title(*cfg.(*C))) }
	}
	if quick != nil {
		e.quick = func(cfg any) { quick(cfg.(*C)) }
		// The defaults are the config most runs start from: a Quick that
		// loosens one of their tolerances is caught at start-up.
		d := e.defaults()
		if err := e.applyQuick(d); err != nil {
			panic(fmt.Sprintf("runner: %v", err))
		}
	}
	return e
}

// add registers e.
func add(e *experiment) { registry[e.name] = e }

// applyQuick applies the experiment's Quick function to cfg and returns an
// error if it changed a Tol field.
func (e *experiment) applyQuick(cfg any) error {
	if e.quick == nil {
		return nil
	}
	before := tolerances(cfg)
	e.quick(cfg)
	after := tolerances(cfg)
	for i, b := range before {
		a := after[i]
		if b.val != a.val && !(b.val != b.val && a.val != a.val) { // NaN stays NaN
			return fmt.Errorf("the Quick function of experiment %q changed the tolerance %q from %v to %v: "+
				"-quick shrinks sizes, never tolerances (switch to a different check through a field of its own instead)",
				e.name, b.key, b.val, a.val)
		}
	}
	return nil
}

// checkFields panics if two fields of the struct type t, or of a struct
// nested in it, have the same key.
func checkFields(name string, t reflect.Type) {
	seen := map[string]bool{}
	for _, f := range structFields(t) {
		if seen[f.key] {
			panic(fmt.Sprintf("runner: configuration of %q has two fields with key %q", name, f.key))
		}
		seen[f.key] = true
		if ft := derefType(f.typ); ft.Kind() == reflect.Struct && !isOpaque(ft) {
			checkFields(name, ft)
		}
	}
}

// Names returns the registered experiment names, sorted.
func Names() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// Info describes a registered experiment, for tests and tools.
type Info struct {
	Name, Theme, Summary string
	Headline             string // Spec.Headline
}

// Lookup returns what is registered under name, and whether anything is.
func Lookup(name string) (Info, bool) {
	e := registry[name]
	if e == nil {
		return Info{}, false
	}
	return Info{Name: e.name, Theme: e.theme, Summary: e.summary, Headline: e.headline}, true
}

// Defaults returns a pointer to a fresh copy of the defaults of the
// experiment registered under name, with -quick applied if quick is true;
// it panics if there is no such experiment or if the type is not C. It is
// meant for tests of an experiment's steps.
func Defaults[C any](name string, quick bool) *C {
	e := registry[name]
	if e == nil {
		panic(fmt.Sprintf("runner: no experiment %q", name))
	}
	c, ok := e.defaults().(*C)
	if !ok {
		panic(fmt.Sprintf("runner: the configuration of %q is %s, not %s", name, e.typ, reflect.TypeFor[C]()))
	}
	if quick {
		if err := e.applyQuick(c); err != nil {
			panic(fmt.Sprintf("runner: %v", err))
		}
	}
	return c
}

// Quick applies the -quick shrink of the experiment registered under name to
// c, as the runner does; it panics as Defaults does, and if the shrink
// changes a tolerance. It is meant for tests of a Quick function.
func Quick[C any](name string, c *C) {
	e := registry[name]
	if e == nil {
		panic(fmt.Sprintf("runner: no experiment %q", name))
	}
	if e.typ != reflect.TypeFor[C]() {
		panic(fmt.Sprintf("runner: the configuration of %q is %s, not %s", name, e.typ, reflect.TypeFor[C]()))
	}
	if err := e.applyQuick(c); err != nil {
		panic(fmt.Sprintf("runner: %v", err))
	}
}
