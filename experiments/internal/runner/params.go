package runner

import (
	"cmp"
	"fmt"
	"slices"
	"strings"
)

// ParamError reports a configuration value that an experiment does not
// accept. Key is the parameter's key inside [params] (dotted for nested
// tables, as in "solver.rtol", with an index for an array element, as in
// "times[2]"), and Msg says what is allowed, for example "must be between 1
// and 1000, got 0". The runner adds the file and the line.
type ParamError struct {
	Key string // key inside [params], such as "steps" or "solver.rtol"
	Msg string // what is wrong and what is allowed
}

// Error returns "key: msg".
func (e *ParamError) Error() string { return e.Key + ": " + e.Msg }

// ParamErrorf returns a *ParamError for key with a formatted message. Use it
// in Validate for conditions that InRange and OneOf do not cover.
func ParamErrorf(key, format string, args ...any) error {
	return &ParamError{Key: key, Msg: fmt.Sprintf(format, args...)}
}

// InRange returns nil if lo <= v <= hi, and otherwise a *ParamError naming
// key and the allowed range. A NaN v is out of every range.
func InRange[T cmp.Ordered](key string, v, lo, hi T) error {
	if lo <= v && v <= hi {
		return nil
	}
	return ParamErrorf(key, "must be between %v and %v, got %v", lo, hi, v)
}

// OneOf returns nil if v is one of allowed, and otherwise a *ParamError
// naming key and listing the allowed values.
func OneOf(key, v string, allowed ...string) error {
	if slices.Contains(allowed, v) {
		return nil
	}
	q := make([]string, len(allowed))
	for i, a := range allowed {
		q[i] = fmt.Sprintf("%q", a)
	}
	return ParamErrorf(key, "must be one of %s, got %q", strings.Join(q, ", "), v)
}
