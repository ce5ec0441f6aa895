package runner

import (
	"cmp"
	"encoding"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"path"
	"reflect"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/BurntSushi/toml"
)

// defaultSeed is the seed of a config file that sets none.
const defaultSeed = 1

// topLevelKeys are the keys a config file may have outside [params], sorted.
var topLevelKeys = []string{"experiment", "params", "seed", "sweep", "title"}

// validOutputName is the form of an output name (a config file's base name
// without ".toml"). It may not start with '.', which marks the runner's
// temporary files.
var validOutputName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// job is one run to make: a validated config file, or one run of a
// config's sweep.
type job struct {
	file  string      // the file as named to the user, for messages
	name  string      // output name: the file's base name without ".toml", or runName
	exp   *experiment // the experiment the file names
	cfg   any         // *C: defaults, then the file's [params] (and sweep values), then -quick
	seed  int64       // -seed, else the file's seed, else defaultSeed; or the sweep's
	title string      // the file's title, else the experiment's summary
	quick bool        // whether -quick was applied

	sw  *sweep    // the file's sweep: set on the job loadConfig returns and on each run
	ref *sweepRef // on a run of a sweep: which one; nil otherwise
}

// inputError is a problem with a config file, located as precisely as
// possible. Its text is "file:line: msg" (or "file: msg" without a line).
type inputError struct {
	file string
	line int // 1-based; 0 if unknown
	msg  string
}

func (e *inputError) Error() string {
	if e.line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.file, e.line, e.msg)
	}
	return e.file + ": " + e.msg
}

// loadOptions are the flags that change how a config file is loaded.
type loadOptions struct {
	quick   bool  // apply each experiment's Quick shrink
	seed    int64 // replaces the file's seed if seedSet
	seedSet bool
	force   bool // allow sweeps of more than MaxSweepRuns runs
}

// loader decodes one config file and collects its problems, each with the
// line toml reports for its key.
type loader struct {
	file  string
	md    toml.MetaData
	prims map[string]toml.Primitive // every key seen, by dotted path
	errs  []*inputError
	keys  map[string]bool // keys with a recorded problem
}

// loadConfig parses, checks and decodes one config file. It returns every
// problem it finds (syntax, unknown keys, wrong types, non-finite or
// out-of-range values, an unknown experiment, a bad [sweep]), ordered by
// line, and a nil job if there is any. The job of a file with a [sweep]
// table is not run itself: its sw field holds the runs.
func loadConfig(file string, src []byte, opts loadOptions) (*job, []error) {
	name := strings.TrimSuffix(path.Base(strings.ReplaceAll(file, `\`, "/")), ".toml")
	if !validOutputName.MatchString(name) {
		return nil, []error{&inputError{file: file, msg: fmt.Sprintf(
			"output name %q (the file name without .toml) must start with a letter or digit and contain only letters, digits, '.', '-' and '_'", name)}}
	}
	if name == "index.md" || name == "index.html" {
		return nil, []error{&inputError{file: file, msg: fmt.Sprintf("output name %q (the file name without .toml) is the name of the index; rename the file", name)}}
	}
	var top map[string]toml.Primitive
	md, err := toml.Decode(string(src), &top)
	if err != nil {
		return nil, []error{tomlError(file, err)}
	}
	l := &loader{file: file, md: md, prims: map[string]toml.Primitive{}, keys: map[string]bool{}}
	for k, p := range top {
		l.prims[toml.Key{k}.String()] = p
	}

	// The experiment first: the meaning of [params] depends on it.
	var exp *experiment
	var expName string
	switch p, ok := top["experiment"]; {
	case !ok:
		l.addf(nil, "missing key %q; registered experiments: %s", "experiment", strings.Join(Names(), ", "))
	case l.decode(toml.Key{"experiment"}, p, &expName, "string (an experiment name)"):
		if exp = registry[expName]; exp == nil {
			l.addf(toml.Key{"experiment"}, "key %q: unknown experiment %q; registered experiments: %s", "experiment", expName, strings.Join(Names(), ", "))
		}
	}
	var hdr struct {
		seed  int64
		title string
	}
	seedSet := false
	for _, k := range l.keysIn(nil, top) {
		p := top[k]
		switch k {
		case "experiment", "params", "sweep":
		case "seed":
			seedSet = l.decode(toml.Key{k}, p, &hdr.seed, "integer")
		case "title":
			l.decode(toml.Key{k}, p, &hdr.title, "string")
		default:
			hint := ""
			if exp != nil && slices.Contains(fieldKeys(exp.typ), k) {
				hint = fmt.Sprintf(" (%q is a parameter of experiment %q: put it under [params])", k, exp.name)
			}
			l.addf(toml.Key{k}, "unknown key %q; valid top-level keys: %s%s", k, strings.Join(topLevelKeys, ", "), hint)
		}
	}
	if exp == nil {
		return nil, l.done()
	}
	cfg := exp.defaults()
	if p, ok := top["params"]; ok {
		l.decodeStruct(toml.Key{"params"}, p, reflect.ValueOf(cfg).Elem())
	}
	var st *sweepTable
	if p, ok := top["sweep"]; ok {
		st = l.decodeSweep(p, exp)
	}
	for _, k := range l.md.Undecoded() {
		// decodeStruct reports unknown keys where it meets them; this is a
		// safety net for anything toml saw and nothing decoded.
		if !l.reported(k) {
			l.addf(k, "unknown key %q", k.String())
		}
	}
	if len(l.errs) > 0 {
		return nil, l.done()
	}
	l.checkFinite(toml.Key{"params"}, reflect.ValueOf(cfg).Elem())
	if st != nil {
		seed := int64(defaultSeed)
		if seedSet {
			seed = hdr.seed
		}
		return l.expandSweep(src, name, exp, top, st, seedSet, seed, hdr.title, opts)
	}
	for _, e := range leafErrors(exp.validate(cfg)) {
		var pe *ParamError
		if errors.As(e, &pe) {
			if l.reported(paramPath(pe.Key)) {
				continue // one problem per key: it is not finite
			}
			l.addf(paramPath(pe.Key), "key %q: %s", "params."+pe.Key, pe.Msg)
		} else {
			l.addf(nil, "invalid [params]: %v", e)
		}
	}
	if len(l.errs) > 0 {
		return nil, l.done()
	}
	if opts.quick {
		if err := exp.applyQuick(cfg); err != nil {
			l.addf(nil, "with -quick: %v", err)
		}
		for _, e := range leafErrors(exp.validate(cfg)) {
			l.addf(nil, "after the -quick shrink: %v (a bug in the Quick function of experiment %q)", e, exp.name)
		}
		if len(l.errs) > 0 {
			return nil, l.done()
		}
	}

	j := &job{file: file, name: name, exp: exp, cfg: cfg, seed: defaultSeed, title: hdr.title, quick: opts.quick}
	if seedSet {
		j.seed = hdr.seed
	}
	if opts.seedSet {
		j.seed = opts.seed
	}
	if j.title == "" && exp.title != nil {
		j.title = exp.title(cfg)
	}
	if j.title == "" {
		j.title = exp.summary
	}
	return j, nil
}

// addf records a problem at the key k (nil for the file as a whole).
func (l *loader) addf(k toml.Key, format string, args ...any) {
	l.keys[k.String()] = true
	l.errs = append(l.errs, &inputError{file: l.file, line: l.line(k), msg: fmt.Sprintf(format, args...)})
}

// done returns the problems ordered by line.
func (l *loader) done() []error {
	slices.SortStableFunc(l.errs, func(a, b *inputError) int { return cmp.Compare(a.line, b.line) })
	out := make([]error, len(l.errs))
	for i, e := range l.errs {
		out[i] = e
	}
	return out
}

// reported reports whether a problem was already recorded for k or one of
// its parents (an unknown table's keys are not listed one by one).
func (l *loader) reported(k toml.Key) bool {
	for n := len(k); n > 0; n-- {
		if l.keys[k[:n].String()] {
			return true
		}
	}
	return false
}

// keysIn returns the keys of the table m at path p in the order toml read
// them, so problems come out in file order.
func (l *loader) keysIn(p toml.Key, m map[string]toml.Primitive) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b string) int {
		return cmp.Or(cmp.Compare(l.line(append(slices.Clip(p), a)), l.line(append(slices.Clip(p), b))), cmp.Compare(a, b))
	})
	return keys
}

// decode decodes the value p at key k into dst and reports whether it
// could; if not, it records a wrong-type problem saying what is wanted.
func (l *loader) decode(k toml.Key, p toml.Primitive, dst any, want string) bool {
	if err := l.md.PrimitiveDecode(p, dst); err != nil {
		l.typeError(k, p, err, want)
		return false
	}
	return true
}

// typeError records that the value at k does not fit its destination.
func (l *loader) typeError(k toml.Key, p toml.Primitive, err error, want string) {
	var v any
	l.md.PrimitiveDecode(p, &v)
	got := describeValue(v)
	msg := tomlMessage(err)
	if strings.HasPrefix(msg, "incompatible types") || strings.HasPrefix(msg, "type mismatch") {
		l.addf(k, "key %q: wrong type: got %s, want %s", k.String(), got, want)
		return
	}
	l.addf(k, "key %q: %s (got %s, want %s)", k.String(), msg, got, want)
}

// tomlPrefix is what toml puts before a decoding error's message.
var tomlPrefix = regexp.MustCompile(`^toml: (line \d+ )?(\(last key "[^"]*"\): )?`)

// tomlMessage is a decoding error's message without toml's prefix.
func tomlMessage(err error) string {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		return pe.Message
	}
	return tomlPrefix.ReplaceAllString(err.Error(), "")
}

// decodeStruct decodes the table p at path k into the struct v, key by key,
// recording every unknown key and every value of the wrong type.
func (l *loader) decodeStruct(k toml.Key, p toml.Primitive, v reflect.Value) {
	m, ok := l.table(k, p, "table (a ["+k.String()+"] section)")
	if !ok {
		return
	}
	for key, sub := range m {
		l.prims[append(slices.Clip(k), key).String()] = sub
	}
	fields := structFields(v.Type())
	valid := fieldKeys(v.Type())
	for _, key := range l.keysIn(k, m) {
		kp := append(slices.Clip(k), key)
		i := slices.IndexFunc(fields, func(f fieldInfo) bool { return f.key == key })
		if i < 0 {
			hint := ""
			for _, name := range valid {
				if strings.EqualFold(name, key) {
					hint = fmt.Sprintf(" (keys are case-sensitive: did you mean %q?)", name)
				}
			}
			l.addf(kp, "unknown key %q; valid keys in [%s]: %s%s", kp.String(), k.String(), strings.Join(valid, ", "), hint)
			continue
		}
		f := fields[i]
		fv := v.FieldByIndex(f.index)
		if ft := derefType(f.typ); ft.Kind() == reflect.Struct && !isOpaque(ft) {
			if fv.Kind() == reflect.Pointer {
				if fv.IsNil() {
					fv.Set(reflect.New(ft))
				}
				fv = fv.Elem()
			}
			l.decodeStruct(kp, m[key], fv)
			continue
		}
		if err := l.md.PrimitiveDecode(m[key], fv.Addr().Interface()); err != nil {
			l.typeError(kp, m[key], err, describeType(f.typ, false))
		}
	}
}

// checkFinite records every float in v (the struct at path k) that is NaN or
// infinite, and every negative Tol: no experiment has a use for them, and a
// NaN would slip through range checks written as "v < lo".
func (l *loader) checkFinite(k toml.Key, v reflect.Value) {
	switch v.Kind() {
	case reflect.Pointer:
		if !v.IsNil() {
			l.checkFinite(k, v.Elem())
		}
	case reflect.Struct:
		if isOpaque(v.Type()) {
			return
		}
		for _, f := range structFields(v.Type()) {
			l.checkFinite(append(slices.Clip(k), f.key), v.FieldByIndex(f.index))
		}
	case reflect.Slice, reflect.Array:
		for i := range v.Len() {
			ek := slices.Clone(k)
			ek[len(ek)-1] += "[" + strconv.Itoa(i) + "]"
			l.checkFinite(ek, v.Index(i))
		}
	case reflect.Map:
		for _, mk := range v.MapKeys() {
			if mk.Kind() == reflect.String {
				l.checkFinite(append(slices.Clip(k), mk.String()), v.MapIndex(mk))
			}
		}
	case reflect.Float32, reflect.Float64:
		x := v.Float()
		switch {
		case math.IsNaN(x) || math.IsInf(x, 0):
			l.addf(k, "key %q: must be a finite number, got %v", k.String(), x)
		case v.Type() == tolType && x < 0:
			l.addf(k, "key %q: a tolerance must be at least 0, got %v", k.String(), x)
		}
	}
}

// paramPath turns a ParamError key ("solver.rtol", "times[2]") into its
// path from the top of the file.
func paramPath(key string) toml.Key {
	return append(toml.Key{"params"}, strings.Split(key, ".")...)
}

// line returns the line toml gives for key k, or for its nearest ancestor
// that has one, or 0. Array indices ("times[2]") locate the array.
func (l *loader) line(k toml.Key) int {
	clean := make(toml.Key, len(k))
	for i, s := range k {
		clean[i], _, _ = strings.Cut(s, "[")
	}
	for n := len(clean); n > 0; n-- {
		p, ok := l.prims[clean[:n].String()]
		if !ok {
			continue
		}
		if line := l.keyLine(p); line > 0 {
			return line
		}
	}
	return 0
}

// errLocate is the error a locator returns; see keyLine.
var errLocate = errors.New("locate")

// locator is a toml.Unmarshaler that always fails.
type locator struct{}

func (locator) UnmarshalTOML(any) error { return errLocate }

// keyLine returns the line of the key whose value is p. The toml package
// keeps the position of every key but exposes it only in the ParseError of
// a value that fails to decode; decoding p into a locator, which always
// fails, gets that position.
func (l *loader) keyLine(p toml.Primitive) int {
	var pe toml.ParseError
	if errors.As(l.md.PrimitiveDecode(p, &locator{}), &pe) {
		return pe.Position.Line
	}
	return 0
}

// tomlError turns a syntax error from the toml package into an inputError
// with the position toml gives.
func tomlError(file string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := "invalid TOML: " + pe.Message
		if pe.LastKey != "" {
			msg = fmt.Sprintf("key %q: %s", pe.LastKey, pe.Message)
		}
		if pe.Position.Col > 0 {
			msg = fmt.Sprintf("column %d: %s", pe.Position.Col, msg)
		}
		return &inputError{file: file, line: pe.Position.Line, msg: msg}
	}
	return &inputError{file: file, msg: err.Error()}
}

// leafErrors flattens err (and errors.Join trees in it) into its leaves.
func leafErrors(err error) []error {
	if err == nil {
		return nil
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, leafErrors(e)...)
		}
		return out
	}
	return []error{err}
}

// describeType names a Go type the way a config file's author thinks of it,
// in the plural for the elements of an array.
func describeType(t reflect.Type, plural bool) string {
	t = derefType(t)
	s := ""
	switch {
	case t == durationType:
		s = `duration (a string such as "1.5s" or "200ms", or integer nanoseconds)`
		if plural {
			s = "durations"
		}
		return s
	case t == tolType:
		s = "tolerance (a number ≥ 0)"
		if plural {
			s = "tolerances"
		}
		return s
	case isOpaque(t):
		return t.String()
	}
	switch t.Kind() {
	case reflect.Bool:
		s = "boolean (true or false)"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		s = "integer"
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		s = "non-negative integer"
	case reflect.Float32, reflect.Float64:
		s = "number"
	case reflect.String:
		s = "string"
	case reflect.Slice, reflect.Array:
		return "array of " + describeType(t.Elem(), true)
	default:
		s = "table"
	}
	if plural {
		s, _, _ = strings.Cut(s, " (")
		s += "s"
	}
	return s
}

// describeValue names the TOML type of a decoded value, with the value when
// it is short.
func describeValue(v any) string {
	var kind string
	switch v.(type) {
	case int64:
		kind = "integer"
	case float64:
		kind = "float"
	case string:
		kind = "string"
	case bool:
		kind = "boolean"
	case time.Time:
		kind = "datetime"
	case []any:
		return "array"
	case []map[string]any:
		return "array of tables"
	case map[string]any:
		return "table"
	default:
		return fmt.Sprintf("%T", v)
	}
	s := fmt.Sprint(v)
	if str, ok := v.(string); ok {
		s = strconv.Quote(str)
	}
	if len(s) > 40 {
		return kind
	}
	return kind + " " + s
}

// fieldInfo is one configuration key and the struct field it decodes into.
type fieldInfo struct {
	key   string       // the toml tag's name, else the field name
	index []int        // for reflect.Value.FieldByIndex
	typ   reflect.Type // the field's type
}

// structFields lists the keys of struct type t in declaration order. Like the
// toml package, it skips unexported fields and fields tagged `toml:"-"`, and
// flattens embedded structs that have no tag name.
func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := range t.NumField() {
		f := t.Field(i)
		tag, _, _ := strings.Cut(f.Tag.Get("toml"), ",")
		if tag == "-" {
			continue
		}
		if f.Anonymous && tag == "" {
			if ft := derefType(f.Type); ft.Kind() == reflect.Struct && !isOpaque(ft) && f.Type.Kind() != reflect.Pointer {
				for _, sub := range structFields(ft) {
					sub.index = append([]int{i}, sub.index...)
					out = append(out, sub)
				}
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		key := tag
		if key == "" {
			key = f.Name
		}
		out = append(out, fieldInfo{key: key, index: []int{i}, typ: f.Type})
	}
	return out
}

// fieldKeys returns the keys of struct type t, sorted.
func fieldKeys(t reflect.Type) []string {
	var keys []string
	for _, f := range structFields(t) {
		keys = append(keys, f.key)
	}
	slices.Sort(keys)
	return keys
}

var (
	durationType        = reflect.TypeFor[time.Duration]()
	tolType             = reflect.TypeFor[Tol]()
	textUnmarshalerType = reflect.TypeFor[encoding.TextUnmarshaler]()
	tomlUnmarshalerType = reflect.TypeFor[toml.Unmarshaler]()
)

// isOpaque reports whether t decodes itself (time.Time, TextUnmarshaler,
// toml.Unmarshaler), so its structure is not checked key by key.
func isOpaque(t reflect.Type) bool {
	p := reflect.PointerTo(t)
	return t == reflect.TypeFor[time.Time]() ||
		p.Implements(textUnmarshalerType) || p.Implements(tomlUnmarshalerType)
}

// derefType strips pointer types.
func derefType(t reflect.Type) reflect.Type {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	return t
}

// param is one configuration key with its value, for reports and -list.
type param struct {
	key string // dotted inside [params], such as "solver.rtol"
	val any
}

// params flattens the configuration struct pointed to by cfg into its keys
// and values, in declaration order, nested structs as dotted keys.
func params(cfg any) []param {
	var out []param
	var walk func(prefix string, v reflect.Value)
	walk = func(prefix string, v reflect.Value) {
		for _, f := range structFields(v.Type()) {
			fv := v.FieldByIndex(f.index)
			for fv.Kind() == reflect.Pointer && !fv.IsNil() {
				fv = fv.Elem()
			}
			if fv.Kind() == reflect.Struct && !isOpaque(fv.Type()) {
				walk(prefix+f.key+".", fv)
				continue
			}
			out = append(out, param{key: prefix + f.key, val: fv.Interface()})
		}
	}
	walk("", reflect.ValueOf(cfg).Elem())
	return out
}

// tolerance is a Tol field's key and value.
type tolerance struct {
	key string
	val float64
}

// tolerances lists every Tol in the configuration pointed to by cfg, slices
// of Tol included, in declaration order.
func tolerances(cfg any) []tolerance {
	var out []tolerance
	for _, p := range params(cfg) {
		v := reflect.ValueOf(p.val)
		switch {
		case v.Type() == tolType:
			out = append(out, tolerance{p.key, v.Float()})
		case (v.Kind() == reflect.Slice || v.Kind() == reflect.Array) && v.Type().Elem() == tolType:
			// A Quick that drops elements of a list of tolerances changes
			// the list: the length is part of what is compared.
			out = append(out, tolerance{p.key + " (length)", float64(v.Len())})
			for i := range v.Len() {
				out = append(out, tolerance{fmt.Sprintf("%s[%d]", p.key, i), v.Index(i).Float()})
			}
		}
	}
	return out
}

// formatValue writes a configuration value as it would appear in TOML.
func formatValue(v any) string {
	switch x := v.(type) {
	case json.RawMessage: // a value read back from results.json
		return string(x)
	case string:
		return strconv.Quote(x)
	case time.Duration:
		return strconv.Quote(x.String())
	case fmt.Stringer:
		return strconv.Quote(x.String())
	}
	rv := reflect.ValueOf(v)
	switch rv.Kind() {
	case reflect.Float64:
		return strconv.FormatFloat(rv.Float(), 'g', -1, 64)
	case reflect.Float32:
		return strconv.FormatFloat(rv.Float(), 'g', -1, 32)
	case reflect.Slice, reflect.Array:
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = formatValue(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}
