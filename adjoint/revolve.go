package adjoint

import "fmt"

// Binomial checkpointing (Griewank 1992; Griewank and Walther, "Algorithm
// 799: revolve", ACM TOMS 26(1), 2000), written from the published
// optimality results:
//
// With s snapshots (one of them holding the initial state) and t sweeps,
// at most β(s, t) = C(s+t, s) steps can be reversed when every step is
// evaluated at most t times beyond the first. For l steps let t be the
// repetition number, the least t with β(s, t) ≥ l. Reversing l steps then
// needs at least
//
//	p(l, s) = t·l − β(s+1, t−1) = t·l − C(s+t, t−1)
//
// forward steps to reach the states the reverse sweep starts from (for
// l ≥ 1; β(s, −1) = 0), and this is attained. The difference
// p(l+1, s) − p(l, s) is the repetition number of l+1, so p is convex in l.
//
// The schedule here is the recursive one: to reverse steps a…b−1 from a
// stored x_a with s snapshots, advance j steps to x_{a+j}, store it,
// reverse a+j…b−1 with s−1 snapshots, free it, and reverse a…a+j−1 with s
// snapshots. The cost j + p(l−j, s−1) + p(j, s) is convex in j (its
// increment 1 + t_s(j+1) − t_{s−1}(l−j) is nondecreasing), so the optimal
// j is the first at which the increment turns nonnegative, found by
// bisection.

// BinomialEvals returns the number of step evaluations Recurrence makes
// with Binomial(snapshots) for a known number of steps n: the optimum
// p(n, s) + 1 of Griewank and Walther, where
//
//	p(n, s) = t·n − C(s+t, t−1),  t the least integer with C(s+t, s) ≥ n,
//
// counts the forward steps needed to reach the states that are
// differentiated, and the 1 is the final step to x_n for the terminal loss.
// It is n when snapshots ≥ n−1 (no recomputation) and n(n−1)/2 + 1 when
// snapshots = 1. BinomialEvals(0, s) = 0. It panics if n < 0 or
// snapshots < 1.
func BinomialEvals(n, snapshots int) int {
	if n < 0 || snapshots < 1 {
		panic(fmt.Sprintf("adjoint: BinomialEvals(%d, %d): need n ≥ 0 and snapshots ≥ 1", n, snapshots))
	}
	if n == 0 {
		return 0
	}
	return revolveCost(n, snapshots) + 1
}

// repetitions returns t_s(l), the least t ≥ 0 with β(s, t) = C(s+t, t) ≥ l.
func repetitions(l, s int) int {
	if s > l {
		s = l // more snapshots than steps change nothing, and keep β small
	}
	t, beta := 0, 1
	for beta < l {
		t++
		beta = beta * (s + t) / t // C(s+t, t) = C(s+t−1, t−1)·(s+t)/t, exact
	}
	return t
}

// revolveCost returns p(l, s), the least number of forward steps needed to
// reverse l steps with s snapshots.
func revolveCost(l, s int) int {
	if l <= 1 {
		return 0
	}
	if s > l {
		s = l
	}
	t := repetitions(l, s)
	c := 1 // C(s+t, t−1) built up as C(s+1+i, i), i = 0 … t−1
	for i := 1; i <= t-1; i++ {
		c = c * (s + 1 + i) / i
	}
	return t*l - c
}

// revolveSplit returns the optimal number of steps to advance before
// storing the next snapshot, for l ≥ 2 steps and s ≥ 2 snapshots.
func revolveSplit(l, s int) int {
	lo, hi := 1, l-1 // the answer is in [lo, hi]; hi always qualifies
	for lo < hi {
		j := (lo + hi) / 2
		if 1+repetitions(j+1, s)-repetitions(l-j, s-1) >= 0 {
			hi = j
		} else {
			lo = j + 1
		}
	}
	return lo
}

// runRevolve implements Binomial(s) for a known n.
func (e *engine) runRevolve(x0 []float64, s int) error {
	if err := e.checkInitial(x0); err != nil {
		return err
	}
	if e.n == 0 {
		return e.terminal(x0)
	}
	if err := e.visit(0, x0); err != nil {
		return err
	}
	first := e.store(x0)
	defer e.release(first)
	return e.revolve(0, e.n, s, first)
}

// revolve runs the adjoint through steps a…b−1, given x_a in the stored
// buffer xa and s snapshots, xa's included. The first call for step n−1
// also takes the final step and forms λ_n (see adjointStep). The recursion
// depth is at most s.
func (e *engine) revolve(a, b, s int, xa []float64) error {
	for b > a {
		switch {
		case b-a == 1:
			return e.adjointStep(a, xa)
		case s == 1:
			for i := b - 1; i > a; i-- {
				if err := e.advance(xa, a, i); err != nil {
					return err
				}
				if err := e.adjointStep(i, e.cur); err != nil {
					return err
				}
			}
			return e.adjointStep(a, xa)
		}
		m := a + revolveSplit(b-a, s)
		if err := e.advance(xa, a, m); err != nil {
			return err
		}
		xm := e.store(e.cur)
		err := e.revolve(m, b, s-1, xm)
		e.release(xm)
		if err != nil {
			return err
		}
		b = m
	}
	return nil
}
