package adjoint

import (
	"fmt"
	"strconv"
	"strings"
)

// Policy is a checkpointing policy for Recurrence: it decides which states
// of the forward sweep are stored and which are recomputed from a stored
// state when the reverse sweep needs them. Every policy returns bit-identical
// gradients for a deterministic Step; they differ only in memory and in
// step evaluations.
//
// For n steps (m = ⌈n/k⌉ segments, the last of length r = n − (m−1)k):
//
//	policy        stored states (peak)          step evaluations    n unknown
//	StoreAll()    n                             n                   yes
//	Every(k)      max(m−2+k, m−1+r) (m ≥ 2)     n + (m−1)(k−1)      yes
//	Binomial(s)   ≤ min(s, n)                   BinomialEvals(n,s)  yes, +n
//
// Stored states count the copy of x_0 (see RecurrenceResult.PeakStored).
//
// StoreAll and Every(k) are online: they run with an unknown number of
// steps (RecurrenceSettings.Stop) at no extra cost, because the forward
// sweep stores x_0, x_k, x_2k, … and the states of the segment it is in,
// and the reverse sweep recomputes each earlier segment from its checkpoint.
// Memory then grows like n/k + k. Binomial(s) needs n to place its
// snapshots; given a Stop condition it first sweeps forward storing only
// x_0 to find n, reverses the last step there, and then runs the offline
// schedule on the remaining n−1 steps: n + BinomialEvals(n−1, s) evaluations
// in all, at most s stored states.
//
// The zero Policy is StoreAll.
type Policy struct {
	kind policyKind
	k    int // Every: the interval; Binomial: the number of snapshots
}

type policyKind int

const (
	policyStoreAll policyKind = iota
	policyEvery
	policyBinomial
)

// StoreAll returns the policy that stores every state x_0, …, x_{n−1}: no
// recomputation, memory proportional to n.
func StoreAll() Policy { return Policy{} }

// Every returns the policy that stores every k-th state as a checkpoint
// and, in the reverse sweep, recomputes the k−1 states after each
// checkpoint (the last segment is kept from the forward sweep). Every(1) is
// StoreAll. It panics if k < 1.
func Every(k int) Policy {
	if k < 1 {
		panic(fmt.Sprintf("adjoint: Every(%d): the interval must be at least 1", k))
	}
	return Policy{kind: policyEvery, k: k}
}

// Binomial returns binomial checkpointing (Griewank and Walther's revolve)
// with the given number of snapshots, counting the one holding x_0: for a
// known number of steps n it evaluates the step the fewest times possible
// while never holding more than that many states (see BinomialEvals).
// With snapshots = 1 only x_0 is kept and the cost is quadratic in n; with
// snapshots ≥ n−1 nothing is recomputed. It panics if snapshots < 1.
func Binomial(snapshots int) Policy {
	if snapshots < 1 {
		panic(fmt.Sprintf("adjoint: Binomial(%d): at least one snapshot is needed", snapshots))
	}
	return Policy{kind: policyBinomial, k: snapshots}
}

// String returns the policy as Go-like text: "StoreAll", "Every(10)",
// "Binomial(5)". ParsePolicy reads it back.
func (p Policy) String() string {
	switch p.kind {
	case policyEvery:
		return fmt.Sprintf("Every(%d)", p.k)
	case policyBinomial:
		return fmt.Sprintf("Binomial(%d)", p.k)
	default:
		return "StoreAll"
	}
}

// ParsePolicy parses the text form of a policy, as written by String:
// "StoreAll", "Every(k)" or "Binomial(s)", ignoring case and spaces. It is
// meant for configuration files and flags, so bad input is an error, not a
// panic.
func ParsePolicy(s string) (Policy, error) {
	t := strings.ToLower(strings.ReplaceAll(s, " ", ""))
	if t == "storeall" {
		return StoreAll(), nil
	}
	for _, c := range []struct {
		prefix string
		kind   policyKind
	}{{"every(", policyEvery}, {"binomial(", policyBinomial}} {
		if !strings.HasPrefix(t, c.prefix) || !strings.HasSuffix(t, ")") {
			continue
		}
		k, err := strconv.Atoi(t[len(c.prefix) : len(t)-1])
		if err != nil || k < 1 {
			return Policy{}, fmt.Errorf("adjoint: checkpointing policy %q: the argument must be an integer ≥ 1", s)
		}
		return Policy{kind: c.kind, k: k}, nil
	}
	return Policy{}, fmt.Errorf("adjoint: unknown checkpointing policy %q (want StoreAll, Every(k) or Binomial(s))", s)
}

func (p Policy) check() {
	if p.kind != policyStoreAll && p.k < 1 {
		panic(fmt.Sprintf("adjoint: invalid checkpointing policy %v", p))
	}
}

// sweep runs the forward sweep from x0 with the step count unknown or known:
// it stops at the step limit or when Stop says so, forms λ_n there and sets
// e.n. keep(k, x_k) is called with every state before step k is taken, so
// the policy can store it. On return cur holds x_n and, if n ≥ 1, nxt holds
// x_{n−1}.
func (e *engine) sweep(x0 []float64, keep func(k int, x []float64)) error {
	if err := e.checkInitial(x0); err != nil {
		return err
	}
	copy(e.cur, x0)
	e.curK = 0
	for k := 0; ; k++ {
		if k == e.limit || (e.set.Stop != nil && e.set.Stop(k, e.cur)) {
			e.n = k
			return e.terminal(e.cur)
		}
		if err := e.visit(k, e.cur); err != nil {
			return err
		}
		keep(k, e.cur)
		e.step.Eval(e.nxt, k, e.cur, e.theta)
		e.evals++
		e.cur, e.nxt = e.nxt, e.cur
		e.curK = k + 1
		if err := e.checkState(k, e.cur); err != nil {
			return err
		}
	}
}

// runEvery implements Every(k) (and StoreAll as Every(1)).
func (e *engine) runEvery(x0 []float64, k int) error {
	var ckpts [][]float64 // ckpts[j] = x_{jk}, for the segments before the last
	var seg [][]float64   // seg[i] = x_{start+i}, the segment being reversed
	start := 0
	err := e.sweep(x0, func(i int, x []float64) {
		if i%k == 0 && len(seg) > 0 {
			ckpts = append(ckpts, seg[0])
			for _, b := range seg[1:] {
				e.release(b)
			}
			seg = seg[:0]
			start = i
		}
		seg = append(seg, e.store(x))
	})
	if err != nil {
		return err
	}
	for j := len(ckpts); ; j-- {
		if j < len(ckpts) {
			// Recompute segment j from its checkpoint.
			start = j * k
			seg = append(seg[:0], ckpts[j])
			ckpts = ckpts[:j]
			prev := seg[0]
			for i := start; i < start+k-1; i++ {
				buf := e.slot()
				e.step.Eval(buf, i, prev, e.theta)
				e.evals++
				seg = append(seg, buf)
				prev = buf
			}
		}
		for i := len(seg) - 1; i >= 0; i-- {
			if err := e.adjointStep(start+i, seg[i]); err != nil {
				return err
			}
			e.release(seg[i])
		}
		seg = seg[:0]
		if j == 0 {
			return nil
		}
	}
}

// runCountThenRevolve implements Binomial(s) when n is not known: a sweep
// that stores only x_0 finds n, the last step is reversed from the sweep's
// working state, and revolve takes the remaining n−1 steps.
func (e *engine) runCountThenRevolve(x0 []float64, s int) error {
	var first []float64
	err := e.sweep(x0, func(k int, x []float64) {
		if k == 0 {
			first = e.store(x)
		}
	})
	if err != nil || e.n == 0 {
		return err
	}
	defer e.release(first)
	if err := e.adjointStep(e.n-1, e.nxt); err != nil {
		return err
	}
	return e.revolve(0, e.n-1, s, first)
}
