package adjoint

import "strings"

// Scopes name regions of a traced program — a layer, a block, a loss — so
// that a record of a reverse pass (Flow) can fold the thousand operations
// of a model into a handful of named boxes.
//
// There is no "current scope" anywhere in the package: a scope travels
// with the values. InScope marks a value as being inside a scope, and every
// operation's result takes the innermost scope of its inputs (the deepest;
// the first of equally deep ones), so the operations that a layer computes
// from its scoped input land in the layer's scope, whoever wrote them, and
// parameters and constants, which carry no scope, do not pull a result out
// of it. Leaving a scope is entering the outer one: InScope(outer, y). An
// operation on unscoped values alone (a weight transformed before it is
// used, say) has no scope; a Flow shows it outside every box.
// Programs that never call InScope carry no scopes, and the only cost to
// them is copying a nil pointer.

// Scope is a named region of a traced program. Scopes nest: a root scope
// comes from NewScope, and Child makes the scopes inside it. A Scope is
// immutable and safe for concurrent use; two calls of Child with the same
// name make two distinct scopes (two applications of one layer are two
// regions of the graph).
type Scope struct {
	name   string
	parent *Scope
	depth  int
}

// NewScope returns a root scope called name.
func NewScope(name string) *Scope { return &Scope{name: name} }

// Child returns a new scope called name inside s.
func (s *Scope) Child(name string) *Scope {
	return &Scope{name: name, parent: s, depth: s.depth + 1}
}

// Name returns the scope's own name.
func (s *Scope) Name() string { return s.name }

// Parent returns the scope that s is inside, or nil for a root scope.
func (s *Scope) Parent() *Scope { return s.parent }

// Depth returns the number of scopes around s: 0 for a root scope.
func (s *Scope) Depth() int { return s.depth }

// Contains reports whether t is s or lies inside s.
func (s *Scope) Contains(t *Scope) bool {
	for ; t != nil && t.depth >= s.depth; t = t.parent {
		if t == s {
			return true
		}
	}
	return false
}

// Ancestor returns the scope around s (or s itself) at the given depth, or
// nil if s is shallower.
func (s *Scope) Ancestor(depth int) *Scope {
	if depth < 0 || depth > s.depth {
		return nil
	}
	for s.depth > depth {
		s = s.parent
	}
	return s
}

// Path returns the names of the scopes from the root down to s, joined by
// sep: "model/layer3" with sep "/".
func (s *Scope) Path(sep string) string {
	names := make([]string, s.depth+1)
	for t := s; t != nil; t = t.parent {
		names[t.depth] = t.name
	}
	return strings.Join(names, sep)
}

// String returns the path of s joined by "/".
func (s *Scope) String() string { return s.Path("/") }

// commonScope returns the innermost scope containing both a and b (nil if
// none; a nil scope is outside every scope).
func commonScope(a, b *Scope) *Scope {
	if a == nil || b == nil {
		return nil
	}
	for a.depth > b.depth {
		a = a.parent
	}
	for b.depth > a.depth {
		b = b.parent
	}
	for a != b {
		a, b = a.parent, b.parent
	}
	return a
}

// innerScope returns the deeper of two scopes, a when they are equally
// deep: the scope an operation's result takes from two inputs.
func innerScope(a, b *Scope) *Scope {
	if b == nil || a != nil && a.depth >= b.depth {
		return a
	}
	return b
}

// Scope returns the scope v was computed in (see InScope), or nil.
func (v *Var) Scope() *Scope { return v.scope }

// InScope returns x as a value inside the scope s: the same tensor, and,
// when x is tracked, an identity operation recorded in s, so that every
// operation computed from the result (and not from a value in a deeper
// scope) is recorded in s too. Use it to enter a scope, InScope(layer, x),
// and to leave one, InScope(outer, y). If x is already in s, InScope
// returns x.
//
// The identity operations are bookkeeping: a Flow leaves them out and
// joins their inputs to their users, and they cost one Var each.
func InScope(s *Scope, x *Var) *Var {
	if s == nil {
		panic("adjoint: InScope: nil scope")
	}
	if x.scope == s {
		return x
	}
	if !x.tracked {
		return &Var{val: x.val, scope: s}
	}
	b := &struct {
		v  Var
		in [1]*Var
	}{}
	b.in[0] = x
	b.v = Var{val: x.val, op: scopeOp{}, in: b.in[:], scope: s, tracked: true}
	return &b.v
}

// scopeOp is the identity operation by which a value enters a scope.
type scopeOp struct{}

func (scopeOp) name() string { return "scope" }

func (scopeOp) vjp(g *Var, _ []*Var, _ *Var, _ []bool) []*Var { return []*Var{g} }

func (scopeOp) jvp(t []*Var, _ []*Var, _ *Var) *Var { return t[0] }

// isScopeOp reports whether v was made by InScope.
func isScopeOp(v *Var) bool {
	_, ok := v.op.(scopeOp)
	return ok
}
