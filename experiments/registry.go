package main

import (
	"cmp"
	"fmt"
	"reflect"
	"regexp"
	"slices"
	"strings"
)

// Spec describes one experiment. Pass it to register from an init function.
//
// C is the experiment's configuration: a struct whose exported fields are the
// keys of the [params] table of a config file. A field's key is the name in
// its `toml:"..."` tag (write the tag, in lower_snake_case), or the field name
// when there is no tag; keys are matched exactly, case included. Fields may
// be numbers, strings, booleans, slices of those, nested structs (sub-tables
// such as [params.solver]) and time.Duration (written as "1.5s" or as an
// integer number of nanoseconds).
//
// If *C or C has a method
//
//	Validate() error
//
// the runner calls it on the decoded configuration before anything runs, and
// reports its errors as bad input (exit status 2). Build its errors with
// inRange, atLeast, oneOf and paramErrorf, joined with errors.Join, so that
// each one names its key; the runner adds the file and line.
type Spec[C any] struct {
	// Name identifies the experiment in config files (experiment = "name"),
	// in -only and in -list. It is made of lower-case letters, digits, '-'
	// and '_'.
	Name string

	// Summary is one line saying what the experiment shows. It is printed
	// by -list, under the report's title and in the index.
	Summary string

	// Defaults returns the configuration that keys omitted from a config
	// file keep. It is called afresh for every config file, so it may return
	// slices. Nil means the zero C.
	Defaults func() C

	// Quick shrinks a configuration for -quick, which the tests use: fewer
	// steps, smaller sizes, the same code paths. It is applied after the
	// file's values are decoded and validated, so it should only reduce
	// work (n = min(n, 20)), never reset what the file chose. The result is
	// validated again. Nil means -quick changes nothing.
	Quick func(*C)

	// Run performs the experiment with the decoded configuration: it writes
	// figures to r.Path(file) and describes them, with tables, metrics and
	// verification checks, through r.Report. It should return soon after
	// r.Context() is cancelled. A returned error or a panic marks the run
	// failed, and nothing it wrote is kept. Required.
	Run func(r *Run, cfg C) error
}

// experiment is a registered Spec with its configuration type erased. The
// configuration travels as a pointer to a C held in an any.
type experiment struct {
	name    string
	summary string
	typ     reflect.Type // the configuration struct type C

	defaults func() any            // a fresh *C holding the defaults
	quick    func(cfg any)         // applies Spec.Quick to a *C; nil if none
	validate func(cfg any) error   // calls Validate on a *C if it has one
	run      func(*Run, any) error // calls Spec.Run with *cfg
}

// registry holds every registered experiment by name. It is filled by init
// functions and read-only afterwards; it is the package's only global
// mutable state.
var registry = map[string]*experiment{}

// validName is the form of an experiment name.
var validName = regexp.MustCompile(`^[a-z0-9][a-z0-9_-]*$`)

// register adds an experiment to the registry. It is meant to be called from
// init functions, and panics on programmer error: an empty or malformed or
// duplicate name, a nil Run, or a configuration type that is not a struct or
// has two fields with the same key.
func register[C any](s Spec[C]) {
	if !validName.MatchString(s.Name) {
		panic(fmt.Sprintf("experiments: invalid experiment name %q (want lower-case letters, digits, '-' and '_')", s.Name))
	}
	if _, dup := registry[s.Name]; dup {
		panic(fmt.Sprintf("experiments: experiment %q registered twice", s.Name))
	}
	if s.Run == nil {
		panic(fmt.Sprintf("experiments: experiment %q has no Run function", s.Name))
	}
	if strings.ContainsAny(s.Summary, "\r\n") {
		panic(fmt.Sprintf("experiments: summary of %q must be one line", s.Name))
	}
	t := reflect.TypeFor[C]()
	if t.Kind() != reflect.Struct {
		panic(fmt.Sprintf("experiments: configuration of %q is %s, want a struct", s.Name, t))
	}
	checkFields(s.Name, t)

	e := &experiment{
		name:    s.Name,
		summary: s.Summary,
		typ:     t,
		defaults: func() any {
			c := new(C)
			if s.Defaults != nil {
				*c = s.Defaults()
			}
			return c
		},
		validate: func(cfg any) error {
			if v, ok := cfg.(interface{ Validate() error }); ok {
				return v.Validate()
			}
			return nil
		},
		run: func(r *Run, cfg any) error { return s.Run(r, *cfg.(*C)) },
	}
	if s.Quick != nil {
		e.quick = func(cfg any) { s.Quick(cfg.(*C)) }
	}
	registry[s.Name] = e
}

// checkFields panics if two fields of the struct type t, or of a struct
// nested in it, have the same key.
func checkFields(name string, t reflect.Type) {
	seen := map[string]bool{}
	for _, f := range structFields(t) {
		if seen[f.key] {
			panic(fmt.Sprintf("experiments: configuration of %q has two fields with key %q", name, f.key))
		}
		seen[f.key] = true
		if ft := derefType(f.typ); ft.Kind() == reflect.Struct && !isOpaque(ft) {
			checkFields(name, ft)
		}
	}
}

// experimentNames returns the registered names, sorted.
func experimentNames() []string {
	names := make([]string, 0, len(registry))
	for n := range registry {
		names = append(names, n)
	}
	slices.Sort(names)
	return names
}

// ParamError reports a configuration value that an experiment does not
// accept. Key is the parameter's key inside [params] (dotted for nested
// tables, as in "solver.rtol"), and Msg says what is allowed, for example
// "must be between 1 and 1000, got 0". The runner adds the file and the line.
type ParamError struct {
	Key string // key inside [params], such as "steps" or "solver.rtol"
	Msg string // what is wrong and what is allowed
}

// Error returns "key: msg".
func (e *ParamError) Error() string { return e.Key + ": " + e.Msg }

// paramErrorf returns a *ParamError for key with a formatted message. Use it
// in Validate for conditions that inRange, atLeast and oneOf do not cover.
func paramErrorf(key, format string, args ...any) error {
	return &ParamError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// inRange returns nil if lo <= v <= hi, and otherwise a *ParamError naming
// key and the allowed range. A NaN v is out of every range.
func inRange[T cmp.Ordered](key string, v, lo, hi T) error {
	if lo <= v && v <= hi {
		return nil
	}
	return paramErrorf(key, "must be between %v and %v, got %v", lo, hi, v)
}

// atLeast returns nil if v >= lo, and otherwise a *ParamError naming key and
// the lower bound. A NaN v fails.
func atLeast[T cmp.Ordered](key string, v, lo T) error {
	if v >= lo {
		return nil
	}
	return paramErrorf(key, "must be at least %v, got %v", lo, v)
}

// oneOf returns nil if v is one of allowed, and otherwise a *ParamError
// naming key and listing the allowed values.
func oneOf(key, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	return paramErrorf(key, "must be one of %s, got %q", strings.Join(q, ", "), v)
}
