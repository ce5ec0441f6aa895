package explain

import (
	"fmt"
	"math"

	"gonum.org/v1/gonum/integrate/quad"

	"github.com/adjointkit/adjointkit/adjoint"
)

// Rule is a quadrature rule for the path integral of integrated
// gradients, ∫₀¹ ∂f(x′ + α(x − x′))/∂x dα, with m gradient evaluations.
// For a smooth integrand the error of the left and right Riemann sums
// falls as 1/m, that of the midpoint and trapezoid rules as 1/m², and
// Gauss–Legendre's faster than any power of 1/m; on a ReLU network the
// integrand is only piecewise smooth and every rule converges more
// slowly.
type Rule int

// The rules of Captum's IntegratedGradients (method = "gausslegendre",
// "riemann_left", "riemann_right", "riemann_middle", "riemann_trapezoid").
const (
	// GaussLegendre takes the m Gauss–Legendre nodes of [0, 1] and their
	// weights (gonum's quad.Legendre). The zero value, as in Captum.
	GaussLegendre Rule = iota
	// RiemannLeft takes α = k/m, k = 0 … m−1, each with weight 1/m.
	RiemannLeft
	// RiemannRight takes α = k/m, k = 1 … m, each with weight 1/m.
	RiemannRight
	// RiemannMiddle takes α = (k + ½)/m, k = 0 … m−1, each with weight
	// 1/m.
	RiemannMiddle
	// RiemannTrapezoid takes α = k/(m−1), k = 0 … m−1, with weights
	// 1/(m−1), halved at both ends (m ≥ 2).
	RiemannTrapezoid
)

// Rules lists every rule, in the order of the constants.
var Rules = []Rule{GaussLegendre, RiemannLeft, RiemannRight, RiemannMiddle, RiemannTrapezoid}

// String returns the rule's name as Captum spells it.
func (r Rule) String() string {
	switch r {
	case GaussLegendre:
		return "gausslegendre"
	case RiemannLeft:
		return "riemann_left"
	case RiemannRight:
		return "riemann_right"
	case RiemannMiddle:
		return "riemann_middle"
	case RiemannTrapezoid:
		return "riemann_trapezoid"
	}
	return fmt.Sprintf("Rule(%d)", int(r))
}

// Nodes returns the m nodes α_k in [0, 1] of the rule and their weights,
// which sum to 1. It panics if m < 1 (m < 2 for RiemannTrapezoid) or the
// rule is unknown.
func (r Rule) Nodes(m int) (alpha, weight []float64) {
	if m < 1 || r == RiemannTrapezoid && m < 2 {
		panic(fmt.Sprintf("explain: %v with %d nodes", r, m))
	}
	alpha, weight = make([]float64, m), make([]float64, m)
	switch r {
	case GaussLegendre:
		quad.Legendre{}.FixedLocations(alpha, weight, 0, 1)
		return alpha, weight
	case RiemannLeft, RiemannRight, RiemannMiddle:
		shift := map[Rule]float64{RiemannLeft: 0, RiemannRight: 1, RiemannMiddle: 0.5}[r]
		for k := range m {
			alpha[k] = (float64(k) + shift) / float64(m)
			weight[k] = 1 / float64(m)
		}
	case RiemannTrapezoid:
		for k := range m {
			alpha[k] = float64(k) / float64(m-1)
			weight[k] = 1 / float64(m-1)
		}
		weight[0] /= 2
		weight[m-1] /= 2
	default:
		panic(fmt.Sprintf("explain: unknown rule %d", int(r)))
	}
	return alpha, weight
}

// IGSettings configures IntegratedGradients. A nil *IGSettings means the
// defaults described on each field.
type IGSettings struct {
	// Steps is the number m of gradient evaluations along the path; zero
	// means 50, Captum's default.
	Steps int
	// Rule is the quadrature rule; the zero value is GaussLegendre.
	Rule Rule
	// Baseline is the reference input x′: one row ([1, ...], used for
	// every input) or one per input (x's shape). Nil means zeros (a
	// black image).
	Baseline *adjoint.Tensor
	// BatchSize is the most path points evaluated in one pass; zero
	// means 128.
	BatchSize int
}

// IGResult is the outcome of IntegratedGradients for a batch of B inputs.
type IGResult struct {
	// Attribution has the shape of the inputs: (x − x′) ⊙ the quadrature
	// of the path integral of the gradient.
	Attribution *adjoint.Tensor
	// Score and BaselineScore hold f(x) and f(x′) per input.
	Score, BaselineScore []float64
	// Delta is the completeness gap per input, |Σ attributions − (f(x) −
	// f(x′))|, which Captum returns as its convergence delta: exact
	// integration makes it zero, so it measures the quadrature's error.
	Delta []float64
}

// IntegratedGradients returns the integrated gradients of f for each
// input of the batch x (Sundararajan et al. 2017):
//
//	IG_i(x) = (x_i − x′_i) ∫₀¹ ∂f(x′ + α(x − x′))/∂x_i dα,
//
// the integral approximated by the settings' quadrature rule, with the
// completeness gap of each input.
func IntegratedGradients(f Score, x *adjoint.Tensor, s *IGSettings) IGResult {
	var set IGSettings
	if s != nil {
		set = *s
	}
	if set.Steps == 0 {
		set.Steps = 50
	}
	if set.BatchSize == 0 {
		set.BatchSize = 128
	}
	b, n := rows("IntegratedGradients", x)
	base := make([]float64, x.Size())
	if bl := set.Baseline; bl != nil {
		switch bl.Size() {
		case n:
			for r := range b {
				copy(base[r*n:], bl.Data)
			}
		case x.Size():
			copy(base, bl.Data)
		default:
			panic(fmt.Sprintf("explain: IntegratedGradients: baseline of shape %v for inputs of shape %v", bl.Shape, x.Shape))
		}
	}
	alpha, weight := set.Rule.Nodes(set.Steps)
	res := IGResult{
		Attribution:   adjoint.New(x.Shape...),
		Score:         scores(f, x),
		BaselineScore: scores(f, adjoint.FromData(base, x.Shape...)),
		Delta:         make([]float64, b),
	}
	// Path points of all inputs, in chunks of at most BatchSize.
	type point struct{ row, k int }
	var pts []point
	for r := range b {
		for k := range alpha {
			pts = append(pts, point{r, k})
		}
	}
	avg := make([]float64, x.Size()) // Σ_k w_k ∂f(path point k)
	for from := 0; from < len(pts); from += set.BatchSize {
		chunk := pts[from:min(from+set.BatchSize, len(pts))]
		xs := make([][]float64, len(chunk))
		for i, p := range chunk {
			xr, br := x.Data[p.row*n:(p.row+1)*n], base[p.row*n:(p.row+1)*n]
			xs[i] = make([]float64, n)
			for j := range n {
				xs[i][j] = br[j] + alpha[p.k]*(xr[j]-br[j])
			}
		}
		_, g := scoreGrad(f, stackRows(xs, x))
		for i, p := range chunk {
			w := weight[p.k]
			dst := avg[p.row*n : (p.row+1)*n]
			for j, v := range g.Data[i*n : (i+1)*n] {
				dst[j] += w * v
			}
		}
	}
	for r := range b {
		sum := 0.0
		for j := r * n; j < (r+1)*n; j++ {
			a := (x.Data[j] - base[j]) * avg[j]
			res.Attribution.Data[j] = a
			sum += a
		}
		res.Delta[r] = math.Abs(sum - (res.Score[r] - res.BaselineScore[r]))
	}
	return res
}
