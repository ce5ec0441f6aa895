package runner

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"reflect"
	"slices"
	"strconv"
	"strings"

	"github.com/BurntSushi/toml"
)

// A config file may hold a [sweep] table: lists of values for [params]
// keys, whose grid product is run point by point, each point once per seed:
//
//	[sweep]
//	lr = [0.003, 0.01, 0.03]         # any [params] key; nested ones dotted:
//	"solver.rtol" = [1e-6, 1e-8]     # or solver.rtol = [...], or [sweep.solver]
//	seeds = 3                        # 3 seeds from the config's seed on, or a list: [1, 7, 42]
//
// Each run is a job of its own and writes a report folder of its own (see
// runName); after the runs, the runner writes the sweep's summary into the
// config's own folder (see summary.go).

// MaxSweepRuns is the largest number of runs (grid points × seeds) a sweep
// may have unless -force is given: a guard against a typo that would start
// days of work.
const MaxSweepRuns = 1000

// maxOutputName is the longest output name, in bytes: file systems allow
// 255 bytes in a name, and the runner's temporary names (".tmp-ID-NAME",
// ".old-ID-NAME", with a 12-digit ID) add 18.
const maxOutputName = 255 - len(".tmp-000000000000-")

// seedsKey is the key of [sweep] that lists or counts the seeds; every
// other key is a [params] key.
const seedsKey = "seeds"

// sweep is a config file's [sweep] table, expanded into its runs.
type sweep struct {
	name   string      // the config's output name, where the summary goes
	sha256 string      // of the config file: the runs of one sweep share it
	axes   []sweepAxis // the swept keys and their values, in file order
	seeds  []int64     // nil if [sweep] does not list or count seeds
	runs   []*job      // in run order: grid points in order, seeds innermost
}

// sweepAxis is one swept key with its values as written in folder names.
type sweepAxis struct {
	Key    string   `json:"key"`    // dotted inside [params]
	Values []string `json:"values"` // see runName
}

// sweepRef is the "sweep" object of a run's results.json: the sweep the run
// belongs to, all of the sweep's values, and which are the run's own. A run
// of a sweep is named (runName) and summarised from it alone, so that -merge
// needs nothing but the folders.
type sweepRef struct {
	Name   string      `json:"name"`          // the sweep: its config's output name
	SHA256 string      `json:"config_sha256"` // of the config file
	Keys   []sweepAxis `json:"keys"`          // every swept key with all its values
	Seeds  []int64     `json:"seeds,omitempty"`
	Point  []string    `json:"point"` // this run's value of each key, as in Keys
	Run    int         `json:"run"`   // this run's number in the sweep, from 0
}

// sameSweep reports whether a and b describe the same sweep (their runs
// may differ).
func (a *sweepRef) sameSweep(b *sweepRef) bool {
	return a.Name == b.Name && a.SHA256 == b.SHA256 && reflect.DeepEqual(a.Keys, b.Keys) && slices.Equal(a.Seeds, b.Seeds)
}

// ref returns the sweepRef of run number run of s, whose point has the
// value indices idx.
func (s *sweep) ref(run int, idx []int) *sweepRef {
	r := &sweepRef{Name: s.name, SHA256: s.sha256, Keys: s.axes, Seeds: s.seeds, Point: make([]string, len(idx)), Run: run}
	for i, k := range idx {
		r.Point[i] = s.axes[i].Values[k]
	}
	return r
}

// runCount is the number of runs of a sweep: the product of the numbers of
// values and of seeds (at least 1 each).
func (r *sweepRef) runCount() int {
	n := max(len(r.Seeds), 1)
	for _, a := range r.Keys {
		n *= len(a.Values)
	}
	return n
}

// runNames lists the folder names of every run of the sweep r, in run
// order.
func (r *sweepRef) runNames() []string {
	var names []string
	forGrid(r.Keys, func(idx []int) {
		point := make([]string, len(idx))
		for i, k := range idx {
			point[i] = r.Keys[i].Values[k]
		}
		if len(r.Seeds) == 0 {
			names = append(names, runName(r.Name, r.Keys, point, nil))
			return
		}
		for _, s := range r.Seeds {
			names = append(names, runName(r.Name, r.Keys, point, &s))
		}
	})
	return names
}

// forGrid calls f with the value indices of every point of the grid of
// axes, in order: the first key varies slowest, the last fastest (as
// nested loops written in file order). With no axes, the grid has one
// point.
func forGrid(axes []sweepAxis, f func(idx []int)) {
	idx := make([]int, len(axes))
	for {
		f(slices.Clone(idx))
		i := len(axes) - 1
		for ; i >= 0; i-- {
			idx[i]++
			if idx[i] < len(axes[i].Values) {
				break
			}
			idx[i] = 0
		}
		if i < 0 {
			return
		}
	}
}

// runName is the output folder of one run of a sweep:
//
//	NAME,KEY=VALUE,KEY=VALUE,seed=SEED
//
// NAME is the config's output name, then comes each swept key in the order
// of the file with the run's value, then the seed if [sweep] has seeds. A
// value is written as TOML writes it (numbers in their shortest exact form:
// 0.003, 1e-06, 32; booleans; strings without quotes; durations as "1.5s"),
// an array of numbers or booleans as its elements joined by '_' ("32_32"),
// and every byte other than letters, digits, '.', '_', '+' and '-' (and a
// '.' that ends the value) as %XX, its hexadecimal code. So a name holds
// only characters every file system accepts, a run's name is the same on
// every machine, and two runs never share one: the name splits back at ','
// into its parts and at the first '=' into key and value, and no two values
// of a key are written alike.
func runName(name string, axes []sweepAxis, point []string, seed *int64) string {
	var b strings.Builder
	b.WriteString(name)
	for i, a := range axes {
		b.WriteString("," + escapeName(a.Key) + "=" + point[i])
	}
	if seed != nil {
		b.WriteString(",seed=" + strconv.FormatInt(*seed, 10))
	}
	return b.String()
}

// escapeName writes s with every byte other than letters, digits, '.',
// '_', '+' and '-', and a final '.', as %XX.
func escapeName(s string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		safe := 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '+' || c == '-' ||
			c == '.' && i < len(s)-1
		if safe {
			b.WriteByte(c)
		} else {
			fmt.Fprintf(&b, "%%%02X", c)
		}
	}
	return b.String()
}

// valueText writes a swept value as it appears in folder names (see
// runName).
func valueText(v reflect.Value) string {
	if v.Kind() == reflect.String {
		return escapeName(v.String())
	}
	if s, ok := v.Interface().(fmt.Stringer); ok {
		return escapeName(s.String())
	}
	if v.Kind() == reflect.Slice || v.Kind() == reflect.Array {
		parts := make([]string, v.Len())
		plain := true
		for i := range v.Len() {
			switch v.Index(i).Kind() {
			case reflect.Bool, reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
				reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64, reflect.Float32, reflect.Float64:
				parts[i] = formatValue(v.Index(i).Interface())
			default:
				plain = false
			}
		}
		if plain {
			return escapeName(strings.Join(parts, "_"))
		}
	}
	return escapeName(formatValue(v.Interface()))
}

// configSHA256 is the hexadecimal SHA-256 of a config file's content.
func configSHA256(src []byte) string {
	h := sha256.Sum256(src)
	return hex.EncodeToString(h[:])
}

// sweepKey is one swept key as decoded from [sweep].
type sweepKey struct {
	key    string          // dotted inside [params]
	at     toml.Key        // where the file writes it, for its line
	values []reflect.Value // each of the field's type
}

// sweepTable is a decoded [sweep] table.
type sweepTable struct {
	keys      []sweepKey
	seeds     []int64 // listed seeds, or nil
	seedCount int     // counted seeds (seeds = n), or 0
	seedsAt   toml.Key
}

// decodeSweep decodes the [sweep] table p for experiment exp, recording
// every unknown key, value of the wrong type, empty list and repeated value.
func (l *loader) decodeSweep(p toml.Primitive, exp *experiment) *sweepTable {
	at := toml.Key{"sweep"}
	m, ok := l.table(at, p, "table (a [sweep] section)")
	if !ok {
		return nil
	}
	st := &sweepTable{}
	var valid []string
	for _, pr := range params(exp.defaults()) {
		valid = append(valid, pr.key)
	}
	valid = append(valid, seedsKey)
	slices.Sort(valid)
	before := len(l.errs)
	l.sweepKeys(st, exp, at, nil, m, valid)
	if len(st.keys) == 0 && st.seeds == nil && st.seedCount == 0 && len(l.errs) == before {
		l.addf(at, "the [sweep] table is empty: give lists of values for [params] keys (lr = [0.01, 0.1]) or seeds (seeds = 3)")
	}
	slices.SortStableFunc(st.keys, func(a, b sweepKey) int { return l.line(a.at) - l.line(b.at) })
	return st
}

// sweepKeys decodes the keys of the table m, found at at in the file and
// at the [params] path prefix, into st.
func (l *loader) sweepKeys(st *sweepTable, exp *experiment, at toml.Key, prefix []string, m map[string]toml.Primitive, valid []string) {
	for key, sub := range m {
		l.prims[append(slices.Clip(at), key).String()] = sub
	}
	for _, key := range l.keysIn(at, m) {
		kat := append(slices.Clip(at), key)
		p := m[key]
		if len(prefix) == 0 && key == seedsKey {
			st.seedsAt = kat
			l.decodeSeeds(st, kat, p)
			continue
		}
		path := append(slices.Clip(prefix), strings.Split(key, ".")...)
		dotted := strings.Join(path, ".")
		ft, ok := fieldType(exp.typ, path)
		if !ok {
			hint := ""
			for _, name := range valid {
				if strings.EqualFold(name, dotted) {
					hint = fmt.Sprintf(" (keys are case-sensitive: did you mean %q?)", name)
				}
			}
			if dotted == "seed" {
				hint = fmt.Sprintf(" (did you mean %q?)", seedsKey)
			}
			l.addf(kat, "unknown key %q: a [sweep] key is a key of [params] or %q; valid keys: %s%s", kat.String(), seedsKey, strings.Join(valid, ", "), hint)
			continue
		}
		if t := derefType(ft); t.Kind() == reflect.Struct && !isOpaque(t) {
			var v any
			l.md.PrimitiveDecode(p, &v)
			if _, ok := v.(map[string]any); !ok {
				l.addf(kat, "key %q: [params.%s] is a table: sweep its keys (such as %s.%s = [...])", kat.String(), dotted, kat.String(), fieldKeys(t)[0])
				continue
			}
			sm, _ := l.table(kat, p, "table")
			l.sweepKeys(st, exp, kat, path, sm, valid)
			continue
		}
		if dotted == "seed" {
			l.addf(kat, "key %q: a parameter named seed cannot be swept: run folders name the run's seed so", kat.String())
			continue
		}
		if i := slices.IndexFunc(st.keys, func(k sweepKey) bool { return k.key == dotted }); i >= 0 {
			l.addf(kat, "key %q: params.%s is swept twice (also as %s)", kat.String(), dotted, st.keys[i].at.String())
			continue
		}
		list := reflect.New(reflect.SliceOf(ft))
		if err := l.md.PrimitiveDecode(p, list.Interface()); err != nil {
			l.typeError(kat, p, err, "array of "+describeType(ft, true)+": the values to sweep")
			continue
		}
		vals := list.Elem()
		if vals.Len() == 0 {
			l.addf(kat, "key %q: an empty list: give at least one value", kat.String())
			continue
		}
		k := sweepKey{key: dotted, at: kat}
		for i := range vals.Len() {
			k.values = append(k.values, vals.Index(i))
		}
		st.keys = append(st.keys, k)
	}
}

// table decodes the TOML table p at key at into its keys, or records that
// it is not one (want says what is wanted).
func (l *loader) table(at toml.Key, p toml.Primitive, want string) (map[string]toml.Primitive, bool) {
	var v any
	l.md.PrimitiveDecode(p, &v)
	if _, ok := v.(map[string]any); !ok {
		l.addf(at, "key %q: wrong type: got %s, want %s", at.String(), describeValue(v), want)
		return nil, false
	}
	var m map[string]toml.Primitive
	if err := l.md.PrimitiveDecode(p, &m); err != nil {
		l.typeError(at, p, err, want)
		return nil, false
	}
	return m, true
}

// decodeSeeds decodes the seeds entry of [sweep]: a count or a list.
func (l *loader) decodeSeeds(st *sweepTable, at toml.Key, p toml.Primitive) {
	var v any
	l.md.PrimitiveDecode(p, &v)
	switch x := v.(type) {
	case int64:
		if x < 1 {
			l.addf(at, "key %q: a count of seeds must be at least 1, got %d", at.String(), x)
			return
		}
		st.seedCount = int(min(x, math.MaxInt32))
	case []any:
		var seeds []int64
		if !l.decode(at, p, &seeds, "integer (a count of seeds) or array of integers (the seeds)") {
			return
		}
		if len(seeds) == 0 {
			l.addf(at, "key %q: an empty list: give at least one seed", at.String())
			return
		}
		for i, s := range seeds {
			if slices.Contains(seeds[:i], s) {
				l.addf(at, "key %q: seed %d is listed twice", at.String(), s)
				return
			}
		}
		st.seeds = seeds
	default:
		l.addf(at, "key %q: wrong type: got %s, want integer (a count of seeds) or array of integers (the seeds)", at.String(), describeValue(v))
	}
}

// fieldType returns the type of the field at the dotted path in the
// configuration struct type t.
func fieldType(t reflect.Type, path []string) (reflect.Type, bool) {
	for i, key := range path {
		t = derefType(t)
		if t.Kind() != reflect.Struct || isOpaque(t) {
			return nil, false
		}
		j := slices.IndexFunc(structFields(t), func(f fieldInfo) bool { return f.key == key })
		if j < 0 {
			return nil, false
		}
		f := structFields(t)[j]
		if i == len(path)-1 {
			return f.typ, true
		}
		t = f.typ
	}
	return nil, false
}

// setField sets the field at the dotted path of the configuration pointed
// to by cfg to a deep copy of v, allocating nil pointers on the way.
func setField(cfg any, path []string, v reflect.Value) {
	fv := reflect.ValueOf(cfg).Elem()
	for _, key := range path {
		for fv.Kind() == reflect.Pointer {
			if fv.IsNil() {
				fv.Set(reflect.New(fv.Type().Elem()))
			}
			fv = fv.Elem()
		}
		j := slices.IndexFunc(structFields(fv.Type()), func(f fieldInfo) bool { return f.key == key })
		fv = fv.FieldByIndex(structFields(fv.Type())[j].index)
	}
	fv.Set(deepCopy(v))
}

// deepCopy copies v, and the slices, maps and pointers in it, so that runs
// share no memory (a Quick function may change a slice in place).
func deepCopy(v reflect.Value) reflect.Value {
	switch v.Kind() {
	case reflect.Slice:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeSlice(v.Type(), v.Len(), v.Len())
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Array:
		c := reflect.New(v.Type()).Elem()
		for i := range v.Len() {
			c.Index(i).Set(deepCopy(v.Index(i)))
		}
		return c
	case reflect.Map:
		if v.IsNil() {
			return v
		}
		c := reflect.MakeMapWithSize(v.Type(), v.Len())
		for it := v.MapRange(); it.Next(); {
			c.SetMapIndex(it.Key(), deepCopy(it.Value()))
		}
		return c
	case reflect.Pointer:
		if v.IsNil() {
			return v
		}
		c := reflect.New(v.Type().Elem())
		c.Elem().Set(deepCopy(v.Elem()))
		return c
	case reflect.Struct:
		c := reflect.New(v.Type()).Elem()
		c.Set(v)
		for i := range c.NumField() {
			if c.Field(i).CanSet() {
				c.Field(i).Set(deepCopy(v.Field(i)))
			}
		}
		return c
	}
	return v
}

// maxSweepProblems is the number of distinct problems of the points of one
// sweep reported before the rest are counted.
const maxSweepProblems = 20

// expandSweep checks the sweep st of a config file (whose [params] decoded
// without problems) and returns the file's job with the runs in its sw
// field, or every problem. Each grid point is built from the defaults, the
// file's [params] and its values, checked with the experiment's Validate
// and shrunk by -quick; the seeds are the listed ones, or the file's seed
// (-seed if given) and the ones after it.
func (l *loader) expandSweep(src []byte, name string, exp *experiment, top map[string]toml.Primitive, st *sweepTable,
	seedSet bool, seed int64, title string, opts loadOptions) (*job, []error) {
	at := toml.Key{"sweep"}
	if exp.headline == "" {
		l.addf(at, "experiment %q declares no headline metric (Spec.Headline), which the summary of a sweep tabulates: it cannot be swept", exp.name)
	}
	if opts.seedSet {
		seed = opts.seed
	}
	switch {
	case st.seeds != nil && opts.seedSet:
		l.addf(st.seedsAt, "-seed %d: %s lists the seeds to run; give a count (seeds = %d) to start the seeds at -seed, or drop -seed", opts.seed, st.seedsAt, len(st.seeds))
	case st.seeds != nil && seedSet:
		l.addf(toml.Key{"seed"}, "key \"seed\" is unused: %s (line %d) lists the seeds to run; remove one of them", st.seedsAt, l.line(st.seedsAt))
	}

	// The number of runs, saturating, before anything is built.
	runs := max(len(st.seeds), st.seedCount, 1)
	for _, k := range st.keys {
		runs = min(runs*len(k.values), math.MaxInt32) // each factor is at most MaxInt32 too
	}
	if runs > MaxSweepRuns && !opts.force {
		l.addf(at, "the sweep has %d runs (%s), more than %d: give -force to run them all", runs, sweepShape(st), MaxSweepRuns)
	}
	if len(l.errs) > 0 {
		return nil, l.done()
	}
	seeds := st.seeds
	for i := range st.seedCount {
		seeds = append(seeds, seed+int64(i))
	}
	s := &sweep{name: name, sha256: configSHA256(src), seeds: seeds, axes: []sweepAxis{}}
	for _, k := range st.keys {
		for i, v := range k.values {
			ek := slices.Clone(k.at)
			ek[len(ek)-1] += "[" + strconv.Itoa(i) + "]"
			l.checkFinite(ek, v)
		}
		a := sweepAxis{Key: k.key}
		for _, v := range k.values {
			text := valueText(v)
			if j := slices.IndexFunc(a.Values, func(t string) bool { return strings.EqualFold(t, text) }); j >= 0 {
				if a.Values[j] == text {
					l.addf(k.at, "key %q: the value %s is listed twice", k.at.String(), formatValue(v.Interface()))
				} else {
					l.addf(k.at, "key %q: the values %s and %s differ only in case, and so would their folders: "+
						"file systems that ignore case (macOS, Windows) would mix them up", k.at.String(),
						formatValue(k.values[j].Interface()), formatValue(v.Interface()))
				}
				break
			}
			a.Values = append(a.Values, text)
		}
		s.axes = append(s.axes, a)
	}
	if len(l.errs) > 0 {
		return nil, l.done()
	}

	// Every point, built and checked.
	type problem struct {
		at    toml.Key
		msg   string
		first string // the first point with the problem
		n     int
	}
	var problems []*problem
	byMsg := map[string]*problem{}
	report := func(k toml.Key, msg, point string) {
		key := k.String() + "\x00" + msg
		if p := byMsg[key]; p != nil {
			p.n++
			return
		}
		p := &problem{at: k, msg: msg, first: point, n: 1}
		byMsg[key] = p
		problems = append(problems, p)
	}
	var points []any
	var pointIdx [][]int
	forGrid(s.axes, func(idx []int) {
		cfg := exp.defaults()
		if p, ok := top["params"]; ok {
			l.md.PrimitiveDecode(p, cfg) // decoded without problems above
		}
		var label []string
		for i, k := range st.keys {
			setField(cfg, strings.Split(k.key, "."), k.values[idx[i]])
			label = append(label, k.key+"="+s.axes[i].Values[idx[i]])
		}
		point := strings.Join(label, ", ")
		ok := true
		for _, e := range leafErrors(exp.validate(cfg)) {
			ok = false
			k, msg := l.paramProblem(e, st)
			report(k, msg, point)
		}
		if ok && opts.quick {
			if err := exp.applyQuick(cfg); err != nil {
				report(nil, "with -quick: "+err.Error(), point)
			}
			for _, e := range leafErrors(exp.validate(cfg)) {
				report(nil, fmt.Sprintf("after the -quick shrink: %v (a bug in the Quick function of experiment %q)", e, exp.name), point)
			}
		}
		points = append(points, cfg)
		pointIdx = append(pointIdx, idx)
	})
	for i, p := range problems {
		if i == maxSweepProblems {
			l.addf(at, "and %d more problems with the values of the sweep", len(problems)-i)
			break
		}
		where := ""
		switch {
		case len(s.axes) == 0:
		case p.n == len(points):
			where = " (at every point of the sweep)"
		case p.n == 1:
			where = fmt.Sprintf(" (at the point %s)", p.first)
		default:
			where = fmt.Sprintf(" (at %d points, such as %s)", p.n, p.first)
		}
		l.addf(p.at, "%s%s", p.msg, where)
	}
	if len(l.errs) > 0 {
		return nil, l.done()
	}

	titleOf := func(cfg any) string { // as for a config without a sweep
		switch {
		case title != "":
			return title
		case exp.title != nil && exp.title(cfg) != "":
			return exp.title(cfg)
		}
		return exp.summary
	}
	run := 0
	for pi, cfg := range points {
		for si := range max(len(s.seeds), 1) {
			j := &job{file: l.file, exp: exp, cfg: deepCopy(reflect.ValueOf(cfg)).Interface(), seed: seed, title: titleOf(cfg),
				quick: opts.quick, sw: s, ref: s.ref(run, pointIdx[pi])}
			var sp *int64
			if len(s.seeds) > 0 {
				j.seed = s.seeds[si]
				sp = &j.seed
			}
			j.name = runName(name, s.axes, j.ref.Point, sp)
			if len(j.name) > maxOutputName {
				l.addf(at, "the folder name of the run %s would be %d bytes long, more than the %d that file systems allow (with the runner's temporary prefix): "+
					"shorten the file name or the values, or sweep fewer keys", j.name, len(j.name), maxOutputName)
				return nil, l.done()
			}
			s.runs = append(s.runs, j)
			run++
		}
	}
	return &job{file: l.file, name: name, exp: exp, cfg: points[0], seed: seed, title: titleOf(points[0]), quick: opts.quick, sw: s}, nil
}

// paramProblem locates a problem Validate found in a point of the sweep st:
// at the [sweep] key if the key is swept, else at the [params] key.
func (l *loader) paramProblem(e error, st *sweepTable) (toml.Key, string) {
	var pe *ParamError
	if !errors.As(e, &pe) {
		return nil, fmt.Sprintf("invalid [params]: %v", e)
	}
	base, _, _ := strings.Cut(pe.Key, "[")
	for _, k := range st.keys {
		if k.key == base {
			return k.at, fmt.Sprintf("key %q: %s", k.at.String(), pe.Msg)
		}
	}
	return paramPath(pe.Key), fmt.Sprintf("key %q: %s", "params."+pe.Key, pe.Msg)
}

// sweepShape describes the size of a sweep: "3 values of lr × 3 seeds".
func sweepShape(st *sweepTable) string {
	var parts []string
	for _, k := range st.keys {
		parts = append(parts, Count(len(k.values), "value of "+k.key, "values of "+k.key))
	}
	if n := max(len(st.seeds), st.seedCount); n > 0 {
		parts = append(parts, Count(n, "seed", "seeds"))
	}
	return strings.Join(parts, " × ")
}
