package adjoint

import (
	"math"
	"testing"

	"gonum.org/v1/gonum/floats"
)

// engRevolveDP computes, by dynamic programming over every split, the least
// number of forward steps that reverses l steps with s snapshots in the
// recursive model: cost[l][s] = min_j j + cost[l−j][s−1] + cost[j][s],
// cost[1][s] = 0, cost[l][1] = l(l−1)/2. It is independent of the closed
// form used by the package.
func engRevolveDP(maxL, maxS int) [][]int {
	cost := make([][]int, maxL+1)
	for l := range cost {
		cost[l] = make([]int, maxS+1)
	}
	for l := 2; l <= maxL; l++ {
		cost[l][1] = l * (l - 1) / 2
		for s := 2; s <= maxS; s++ {
			best := math.MaxInt
			for j := 1; j < l; j++ {
				best = min(best, j+cost[l-j][s-1]+cost[j][s])
			}
			cost[l][s] = best
		}
	}
	return cost
}

func engBinom(n, k int) int {
	if k < 0 || k > n {
		return 0
	}
	c := 1
	for i := 1; i <= k; i++ {
		c = c * (n - k + i) / i
	}
	return c
}

func TestRevolveFormulaMatchesDP(t *testing.T) {
	const maxL, maxS = 120, 8
	dp := engRevolveDP(maxL, maxS)
	for l := 1; l <= maxL; l++ {
		for s := 1; s <= maxS; s++ {
			if got := revolveCost(l, s); got != dp[l][s] {
				t.Errorf("p(%d, %d) = %d, dynamic programming gives %d", l, s, got, dp[l][s])
			}
			// The repetition number against the binomial definition.
			r := repetitions(l, s)
			if engBinom(s+r, s) < l || (r > 0 && engBinom(s+r-1, s) >= l) {
				t.Errorf("repetitions(%d, %d) = %d is not the least t with C(s+t, s) ≥ l", l, s, r)
			}
			if l >= 2 && s >= 2 {
				j := revolveSplit(l, s)
				if c := j + dp[l-j][s-1] + dp[j][s]; c != dp[l][s] {
					t.Errorf("split(%d, %d) = %d costs %d, optimum %d", l, s, j, c, dp[l][s])
				}
			}
		}
	}
	// The edges quoted in the documentation.
	for n := 1; n <= 40; n++ {
		if got := BinomialEvals(n, 1); got != n*(n-1)/2+1 {
			t.Errorf("BinomialEvals(%d, 1) = %d", n, got)
		}
		if got := BinomialEvals(n, max(n-1, 1)); got != n {
			t.Errorf("BinomialEvals(%d, %d) = %d, want %d", n, n-1, got, n)
		}
	}
	if BinomialEvals(0, 3) != 0 {
		t.Error("BinomialEvals(0, 3) != 0")
	}
	// Large arguments stay exact: 10^5 steps, 10 snapshots.
	if got, want := BinomialEvals(100000, 10), engBigRevolve(100000, 10)+1; got != want {
		t.Errorf("BinomialEvals(1e5, 10) = %d, want %d", got, want)
	}
}

// engBigRevolve evaluates t·l − C(s+t, t−1) with engBinom.
func engBigRevolve(l, s int) int {
	t := 0
	for engBinom(s+t, s) < l {
		t++
	}
	return t*l - engBinom(s+t, t-1)
}

// engScalarStep is x_{k+1} = sin(x_k)·θ_0 + 0.1k: one cheap dimension.
type engScalarStep struct{}

var _ Step = engScalarStep{}

func (engScalarStep) Eval(next []float64, k int, x, theta []float64) {
	next[0] = math.Sin(x[0])*theta[0] + 0.1*float64(k)
}

func (engScalarStep) VJP(xbar, thetabar []float64, k int, x, theta, nextbar []float64) {
	xbar[0] += math.Cos(x[0]) * theta[0] * nextbar[0]
	thetabar[0] += math.Sin(x[0]) * nextbar[0]
}

// TestBinomialCountsExhaustive runs Binomial(s) for every n ≤ 60 and
// s = 1…6 and checks the step evaluations against the revolve optimum, the
// peak of stored states against s, and the gradient against StoreAll.
func TestBinomialCountsExhaustive(t *testing.T) {
	theta := []float64{0.9}
	x0 := []float64{0.3}
	loss := engSumSq{1}
	for n := 0; n <= 60; n++ {
		refX, refT := make([]float64, 1), make([]float64, 1)
		ref, err := Recurrence(refX, refT, engScalarStep{}, loss, x0, theta, n, StoreAll(), nil)
		if err != nil {
			t.Fatal(err)
		}
		for s := 1; s <= 6; s++ {
			gx, gt := make([]float64, 1), make([]float64, 1)
			res, err := Recurrence(gx, gt, engScalarStep{}, loss, x0, theta, n, Binomial(s), nil)
			if err != nil {
				t.Fatal(err)
			}
			want := BinomialEvals(n, s)
			if res.Evals != want {
				t.Errorf("n=%d s=%d: %d evaluations, revolve optimum %d", n, s, res.Evals, want)
			}
			if res.Recomputed() != want-n {
				t.Errorf("n=%d s=%d: Recomputed %d, want %d", n, s, res.Recomputed(), want-n)
			}
			if res.PeakStored > s {
				t.Errorf("n=%d s=%d: peak stored %d > s", n, s, res.PeakStored)
			}
			if res.VJPs != n {
				t.Errorf("n=%d s=%d: %d VJPs", n, s, res.VJPs)
			}
			if res.Loss != ref.Loss || !floats.Equal(gx, refX) || !floats.Equal(gt, refT) {
				t.Errorf("n=%d s=%d: gradient not bit-identical to StoreAll", n, s)
			}
		}
	}
}
