package main

import (
	"encoding"
	"errors"
	"fmt"
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
var topLevelKeys = []string{"experiment", "params", "seed", "title"}

// validOutputName is the form of an output name (a config file's base name
// without ".toml"). It may not start with '.', which marks the runner's
// temporary directories.
var validOutputName = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// job is one validated config file, ready to run.
type job struct {
	file  string      // the file as named to the user, for messages
	name  string      // output name: the file's base name without ".toml"
	exp   *experiment // the experiment the file names
	cfg   any         // *C: defaults, then the file's [params], then -quick
	seed  int64       // -seed, else the file's seed, else defaultSeed
	title string      // the file's title, else the experiment's summary
	quick bool        // whether -quick was applied
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
}

// loadConfig parses, checks and decodes one config file. It returns every
// problem it finds (unknown keys, wrong types, out-of-range values, unknown
// experiment), ordered by line, and a nil job if there is any.
func loadConfig(file string, src []byte, opts loadOptions) (*job, []error) {
	name := strings.TrimSuffix(path.Base(strings.ReplaceAll(file, `\`, "/")), ".toml")
	if !validOutputName.MatchString(name) {
		return nil, []error{&inputError{file: file, msg: fmt.Sprintf(
			"output name %q (the file name without .toml) must start with a letter or digit and contain only letters, digits, '.', '-' and '_'", name)}}
	}

	var raw map[string]any
	if _, err := toml.Decode(string(src), &raw); err != nil {
		return nil, []error{tomlError(file, err)}
	}
	lines := keyLines(string(src))
	var errs []*inputError
	add := func(p []string, format string, args ...any) {
		errs = append(errs, &inputError{file: file, line: lines.find(p), msg: fmt.Sprintf(format, args...)})
	}
	done := func() []error {
		slices.SortStableFunc(errs, func(a, b *inputError) int { return a.line - b.line })
		out := make([]error, len(errs))
		for i, e := range errs {
			out[i] = e
		}
		return out
	}

	// The experiment first: the meaning of [params] depends on it.
	var exp *experiment
	switch v, ok := raw["experiment"]; {
	case !ok:
		add(nil, "missing key %q; registered experiments: %s", "experiment", strings.Join(experimentNames(), ", "))
	default:
		s, isString := v.(string)
		switch {
		case !isString:
			add([]string{"experiment"}, "key %q: wrong type: got %s, want string (an experiment name)", "experiment", describeValue(v))
		case registry[s] == nil:
			add([]string{"experiment"}, "key %q: unknown experiment %q; registered experiments: %s", "experiment", s, strings.Join(experimentNames(), ", "))
		default:
			exp = registry[s]
		}
	}
	for _, k := range sortedKeys(raw) {
		v := raw[k]
		switch k {
		case "experiment":
		case "seed":
			if _, ok := v.(int64); !ok {
				add([]string{k}, "key %q: wrong type: got %s, want integer", k, describeValue(v))
			}
		case "title":
			if _, ok := v.(string); !ok {
				add([]string{k}, "key %q: wrong type: got %s, want string", k, describeValue(v))
			}
		case "params":
			if _, ok := v.(map[string]any); !ok {
				add([]string{k}, "key %q: wrong type: got %s, want table (a [params] section)", k, describeValue(v))
			}
		default:
			hint := ""
			if exp != nil && slices.Contains(fieldKeys(exp.typ), k) {
				hint = fmt.Sprintf(" (%q is a parameter of experiment %q: put it under [params])", k, exp.name)
			}
			add([]string{k}, "unknown key %q; valid top-level keys: %s%s", k, strings.Join(topLevelKeys, ", "), hint)
		}
	}
	if exp == nil {
		return nil, done()
	}
	if m, ok := raw["params"].(map[string]any); ok {
		checkTable([]string{"params"}, m, exp.typ, add)
	}
	if len(errs) > 0 {
		return nil, done()
	}

	// The checks passed: decode for real, into the defaults.
	var hdr struct {
		Experiment string         `toml:"experiment"`
		Seed       int64          `toml:"seed"`
		Title      string         `toml:"title"`
		Params     toml.Primitive `toml:"params"`
	}
	md, err := toml.Decode(string(src), &hdr)
	if err != nil {
		return nil, []error{tomlError(file, err)}
	}
	cfg := exp.defaults()
	if md.IsDefined("params") {
		if err := md.PrimitiveDecode(hdr.Params, cfg); err != nil {
			return nil, []error{tomlError(file, err)}
		}
	}
	for _, k := range md.Undecoded() {
		// checkTable rejects unknown keys first; this is a safety net.
		add(k, "unknown key %q", k.String())
	}
	if len(errs) > 0 {
		return nil, done()
	}
	for _, e := range leafErrors(exp.validate(cfg)) {
		var pe *ParamError
		if errors.As(e, &pe) {
			add(append([]string{"params"}, strings.Split(pe.Key, ".")...), "key %q: %s", "params."+pe.Key, pe.Msg)
		} else {
			add(nil, "invalid [params]: %v", e)
		}
	}
	if len(errs) > 0 {
		return nil, done()
	}
	if opts.quick && exp.quick != nil {
		exp.quick(cfg)
		for _, e := range leafErrors(exp.validate(cfg)) {
			add(nil, "after the -quick shrink: %v (a bug in the Quick function of experiment %q)", e, exp.name)
		}
		if len(errs) > 0 {
			return nil, done()
		}
	}

	j := &job{file: file, name: name, exp: exp, cfg: cfg, seed: defaultSeed, title: hdr.Title, quick: opts.quick}
	if md.IsDefined("seed") {
		j.seed = hdr.Seed
	}
	if opts.seedSet {
		j.seed = opts.seed
	}
	if j.title == "" {
		j.title = exp.summary
	}
	return j, nil
}

// tomlError turns an error from the toml package into an inputError with
// the position toml gives.
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

// checkTable checks the decoded TOML table m against the struct type t: every
// key must name a field, and every value must fit its field's type. It calls
// add, with the key's path, for each problem.
func checkTable(p []string, m map[string]any, t reflect.Type, add func(p []string, format string, args ...any)) {
	fields := structFields(t)
	keys := fieldKeys(t)
	for _, k := range sortedKeys(m) {
		kp := appendPath(p, k)
		i := slices.IndexFunc(fields, func(f fieldInfo) bool { return f.key == k })
		if i < 0 {
			hint := ""
			for _, valid := range keys {
				if strings.EqualFold(valid, k) {
					hint = fmt.Sprintf(" (keys are case-sensitive: did you mean %q?)", valid)
				}
			}
			add(kp, "unknown key %q; valid keys in [%s]: %s%s", joinPath(kp), joinPath(p), strings.Join(keys, ", "), hint)
			continue
		}
		checkValue(kp, m[k], fields[i].typ, add)
	}
}

// checkValue checks that the decoded TOML value v fits the Go type t.
func checkValue(p []string, v any, t reflect.Type, add func(p []string, format string, args ...any)) {
	t = derefType(t)
	wrong := func(want string) {
		add(p, "key %q: wrong type: got %s, want %s", joinPath(p), describeValue(v), want)
	}
	if t == durationType {
		switch d := v.(type) {
		case int64:
		case string:
			if _, err := time.ParseDuration(d); err != nil {
				wrong(`duration (a string such as "1.5s" or "200ms", or integer nanoseconds)`)
			}
		default:
			wrong(`duration (a string such as "1.5s" or "200ms", or integer nanoseconds)`)
		}
		return
	}
	if isOpaque(t) {
		return // decoded by its own method; toml reports its errors
	}
	switch t.Kind() {
	case reflect.Bool:
		if _, ok := v.(bool); !ok {
			wrong("boolean (true or false)")
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		n, ok := v.(int64)
		if !ok {
			wrong("integer")
		} else if reflect.Zero(t).OverflowInt(n) {
			add(p, "key %q: %d does not fit in %s", joinPath(p), n, t.Kind())
		}
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		n, ok := v.(int64)
		if !ok {
			wrong("non-negative integer")
		} else if n < 0 || reflect.Zero(t).OverflowUint(uint64(n)) {
			add(p, "key %q: %d does not fit in %s (a non-negative integer)", joinPath(p), n, t.Kind())
		}
	case reflect.Float32, reflect.Float64:
		switch v.(type) {
		case int64, float64:
		default:
			wrong("number")
		}
	case reflect.String:
		if _, ok := v.(string); !ok {
			wrong("string")
		}
	case reflect.Slice, reflect.Array:
		var elems []any
		switch a := v.(type) {
		case []any:
			elems = a
		case []map[string]any:
			for _, e := range a {
				elems = append(elems, e)
			}
		default:
			wrong("array of " + describeType(t.Elem()))
			return
		}
		if t.Kind() == reflect.Array && len(elems) != t.Len() {
			add(p, "key %q: got an array of %d elements, want exactly %d", joinPath(p), len(elems), t.Len())
			return
		}
		for i, e := range elems {
			ep := slices.Clone(p)
			ep[len(ep)-1] += "[" + strconv.Itoa(i) + "]"
			checkValue(ep, e, t.Elem(), add)
		}
	case reflect.Map:
		m, ok := v.(map[string]any)
		if !ok || t.Key().Kind() != reflect.String {
			wrong("table")
			return
		}
		for _, k := range sortedKeys(m) {
			checkValue(appendPath(p, k), m[k], t.Elem(), add)
		}
	case reflect.Struct:
		m, ok := v.(map[string]any)
		if !ok {
			wrong("table")
			return
		}
		checkTable(p, m, t, add)
	}
}

// describeType names a Go type the way a config file's author thinks of it.
func describeType(t reflect.Type) string {
	t = derefType(t)
	switch {
	case t == durationType:
		return "durations"
	case isOpaque(t):
		return t.String()
	}
	switch t.Kind() {
	case reflect.Bool:
		return "booleans"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Uintptr:
		return "integers"
	case reflect.Float32, reflect.Float64:
		return "numbers"
	case reflect.String:
		return "strings"
	case reflect.Slice, reflect.Array:
		return "arrays"
	default:
		return "tables"
	}
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

// formatValue writes a configuration value as it would appear in TOML.
func formatValue(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case float64:
		return strconv.FormatFloat(x, 'g', -1, 64)
	case float32:
		return strconv.FormatFloat(float64(x), 'g', -1, 32)
	case time.Duration:
		return strconv.Quote(x.String())
	case fmt.Stringer:
		return strconv.Quote(x.String())
	}
	rv := reflect.ValueOf(v)
	if rv.Kind() == reflect.Slice || rv.Kind() == reflect.Array {
		parts := make([]string, rv.Len())
		for i := range parts {
			parts[i] = formatValue(rv.Index(i).Interface())
		}
		return "[" + strings.Join(parts, ", ") + "]"
	}
	return fmt.Sprint(v)
}

// sortedKeys returns the keys of m, sorted.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func appendPath(p []string, k string) []string { return append(slices.Clip(p), k) }

func joinPath(p []string) string { return strings.Join(p, ".") }

// keyIndex maps key paths ("params.n", joined with dots) to the 1-based line
// where each is first assigned or opened as a table.
type keyIndex map[string]int

// find returns the line of path p, or of its nearest ancestor that has one
// (keys inside inline tables and arrays are found through their parents),
// or 0.
func (ix keyIndex) find(p []string) int {
	clean := make([]string, len(p))
	for i, s := range p {
		clean[i], _, _ = strings.Cut(s, "[")
	}
	for n := len(clean); n > 0; n-- {
		if line, ok := ix[joinPath(clean[:n])]; ok {
			return line
		}
	}
	return 0
}

func (ix keyIndex) add(p []string, line int) {
	for n := 1; n <= len(p); n++ {
		k := joinPath(p[:n])
		if _, ok := ix[k]; !ok {
			ix[k] = line
		}
	}
}

// keyLines finds the line of every key and table header in a TOML document
// that has already parsed without error. The toml package reports positions
// only for syntax errors, so the runner locates keys itself to point at the
// line of a bad value. It follows table headers, dotted keys, multi-line
// strings and multi-line arrays; keys inside inline tables are not indexed.
func keyLines(src string) keyIndex {
	ix := keyIndex{}
	var table []string
	var st scanState
	for i, line := range strings.Split(src, "\n") {
		n := i + 1
		if st.closing != "" || st.depth > 0 {
			st.scan(line)
			continue
		}
		s := strings.TrimLeft(line, " \t")
		if s == "" || s[0] == '#' {
			continue
		}
		if s[0] == '[' {
			inner, arr := s[1:], false
			if strings.HasPrefix(inner, "[") {
				inner, arr = inner[1:], true
			}
			p, rest, ok := parseKeyPath(inner)
			if !ok {
				continue
			}
			rest = strings.TrimLeft(rest, " \t")
			end := "]"
			if arr {
				end = "]]"
			}
			if after, found := strings.CutPrefix(rest, end); found {
				if after = strings.TrimSpace(after); after == "" || after[0] == '#' {
					table = p
					ix.add(p, n)
				}
			}
			continue
		}
		p, rest, ok := parseKeyPath(s)
		if !ok {
			continue
		}
		rest = strings.TrimLeft(rest, " \t")
		if !strings.HasPrefix(rest, "=") {
			continue
		}
		ix.add(append(slices.Clone(table), p...), n)
		st.scan(rest[1:])
	}
	return ix
}

// scanState tracks, across lines, whether a value continues on the next
// line: an open multi-line string or open brackets.
type scanState struct {
	closing string // `"""` or `'''` while inside a multi-line string
	depth   int    // open '[' and '{' outside strings
}

// scan advances the state over one line (or the value part of one).
func (st *scanState) scan(s string) {
	for len(s) > 0 {
		if st.closing != "" {
			i := strings.Index(s, st.closing)
			if i < 0 {
				return
			}
			s, st.closing = s[i+3:], ""
			continue
		}
		switch {
		case strings.HasPrefix(s, `"""`), strings.HasPrefix(s, `'''`):
			st.closing, s = s[:3], s[3:]
		case s[0] == '"':
			i := 1
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			s = s[min(i+1, len(s)):]
		case s[0] == '\'':
			i := strings.IndexByte(s[1:], '\'')
			if i < 0 {
				return
			}
			s = s[i+2:]
		case s[0] == '#':
			return
		case s[0] == '[' || s[0] == '{':
			st.depth++
			s = s[1:]
		case s[0] == ']' || s[0] == '}':
			st.depth = max(st.depth-1, 0)
			s = s[1:]
		default:
			s = s[1:]
		}
	}
}

// parseKeyPath parses a possibly dotted, possibly quoted TOML key at the
// start of s and returns its parts and the rest of s.
func parseKeyPath(s string) (parts []string, rest string, ok bool) {
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return nil, "", false
		}
		switch s[0] {
		case '"':
			i := 1
			for i < len(s) && s[i] != '"' {
				if s[i] == '\\' {
					i++
				}
				i++
			}
			if i >= len(s) {
				return nil, "", false
			}
			part, err := strconv.Unquote(s[:i+1])
			if err != nil {
				part = s[1:i]
			}
			parts, s = append(parts, part), s[i+1:]
		case '\'':
			i := strings.IndexByte(s[1:], '\'')
			if i < 0 {
				return nil, "", false
			}
			parts, s = append(parts, s[1:i+1]), s[i+2:]
		default:
			i := 0
			for i < len(s) && isBareKeyChar(s[i]) {
				i++
			}
			if i == 0 {
				return nil, "", false
			}
			parts, s = append(parts, s[:i]), s[i:]
		}
		s = strings.TrimLeft(s, " \t")
		if !strings.HasPrefix(s, ".") {
			return parts, s, true
		}
		s = s[1:]
	}
}

func isBareKeyChar(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-'
}
