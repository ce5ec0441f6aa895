package explain

import (
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/adjointkit/adjointkit/adjoint"
	"github.com/adjointkit/adjointkit/nn"
)

// Loss is the objective an attack increases: it maps a batch of inputs
// [B, ...] to the sum of their losses (a scalar), so that its gradient
// with respect to the batch holds each input's own gradient. Rows must
// not interact.
type Loss func(x *adjoint.Var) *adjoint.Var

// CrossEntropyLoss returns the summed softmax cross-entropy of a
// classifier on a batch whose rows have the given labels: the loss FGSM
// and PGD ascend.
func CrossEntropyLoss(model nn.Layer, labels []int) Loss {
	return func(x *adjoint.Var) *adjoint.Var {
		return nn.CrossEntropy(nn.Forward(model, x), labels, &nn.ClassLossSettings{Reduction: nn.ReduceSum})
	}
}

// InputGradient returns the loss of the batch x and its gradient with
// respect to x: each row's ∇ₓ of its own loss.
func InputGradient(f Loss, x *adjoint.Tensor) (float64, *adjoint.Tensor) {
	rows("InputGradient", x)
	xv := adjoint.Param(x)
	l := f(xv)
	if l.Size() != 1 {
		panic(fmt.Sprintf("explain: a Loss returned shape %v; want a single value", l.Shape()))
	}
	return l.Item(), adjoint.Grad(l, xv)[0]
}

// Norm is the norm that bounds an adversarial perturbation.
type Norm int

const (
	// LInf bounds every element: |δ_i| ≤ ε. The zero value.
	LInf Norm = iota
	// L2 bounds the Euclidean norm of each input's perturbation: ‖δ‖₂ ≤ ε.
	L2
)

// String returns "L∞" or "L2".
func (n Norm) String() string {
	if n == L2 {
		return "L2"
	}
	return "L∞"
}

// AttackSettings configures FGSM and PGD. Epsilon is required; a nil
// *AttackSettings is not accepted.
type AttackSettings struct {
	// Norm bounds the perturbation; the zero value is LInf.
	Norm Norm
	// Epsilon is the radius of the ball the perturbed input stays in,
	// ≥ 0.
	Epsilon float64
	// Steps is the number of PGD iterations; zero means 10. FGSM takes
	// one step of size Epsilon.
	Steps int
	// StepSize is PGD's step; zero means 2.5·Epsilon/Steps (Madry et al.
	// 2018), enough to cross the ball in fewer steps than there are.
	StepSize float64
	// RandomStart starts PGD at a uniform random point of the ball (drawn
	// from Rand, required then) rather than at the input.
	RandomStart bool
	// Rand draws the random start.
	Rand *rand.Rand
	// Min and Max bound every element of the perturbed input (valid
	// pixels); both zero means [0, 1].
	Min, Max float64
}

func (s *AttackSettings) box() (lo, hi float64) {
	if s.Min == 0 && s.Max == 0 {
		return 0, 1
	}
	return s.Min, s.Max
}

func (s *AttackSettings) check(who string) {
	if lo, hi := s.box(); !(s.Epsilon >= 0) || math.IsInf(s.Epsilon, 0) || !(lo < hi) || s.Steps < 0 || s.StepSize < 0 {
		panic(fmt.Sprintf("explain: %s: epsilon %v, box [%v, %v], steps %d, step size %v", who, s.Epsilon, lo, hi, s.Steps, s.StepSize))
	}
	if s.RandomStart && s.Rand == nil {
		panic(fmt.Sprintf("explain: %s: RandomStart needs Rand", who))
	}
}

// FGSM returns the fast gradient sign method's adversarial inputs for the
// batch x (Goodfellow et al. 2015): one step of size ε along the sign of
// the loss gradient (LInf), or along the gradient scaled to Euclidean
// norm ε (L2, the fast gradient method), then clipped to [Min, Max].
// Clipping moves no element away from x, so the result stays in the ball.
func FGSM(f Loss, x *adjoint.Tensor, s *AttackSettings) *adjoint.Tensor {
	s.check("FGSM")
	_, g := InputGradient(f, x)
	adv := x.Clone()
	ascend(adv, g, s.Norm, s.Epsilon)
	lo, hi := s.box()
	Project(adv, x, s.Norm, s.Epsilon, lo, hi)
	return adv
}

// PGD returns projected gradient descent's adversarial inputs for the
// batch x (Madry et al. 2018): Steps steps of FGSM's kind of size
// StepSize, each followed by Project onto the ε-ball around x and the box
// [Min, Max], from x or from a random point of the ball.
func PGD(f Loss, x *adjoint.Tensor, s *AttackSettings) *adjoint.Tensor {
	s.check("PGD")
	steps, step := s.Steps, s.StepSize
	if steps == 0 {
		steps = 10
	}
	if step == 0 {
		step = 2.5 * s.Epsilon / float64(steps)
	}
	lo, hi := s.box()
	adv := x.Clone()
	if s.RandomStart {
		randomStart(adv, s.Norm, s.Epsilon, s.Rand)
		Project(adv, x, s.Norm, s.Epsilon, lo, hi)
	}
	for range steps {
		_, g := InputGradient(f, adv)
		ascend(adv, g, s.Norm, step)
		Project(adv, x, s.Norm, s.Epsilon, lo, hi)
	}
	return adv
}

// ascend moves each row of x by size along sign(g) (LInf) or g/‖g‖₂ (L2;
// a row with a zero gradient stays).
func ascend(x, g *adjoint.Tensor, norm Norm, size float64) {
	b, n := rows("attack", x)
	for r := range b {
		gr := g.Data[r*n : (r+1)*n]
		xr := x.Data[r*n : (r+1)*n]
		if norm == L2 {
			gn := 0.0
			for _, v := range gr {
				gn = math.Hypot(gn, v)
			}
			if gn == 0 {
				continue
			}
			for j, v := range gr {
				xr[j] += size * v / gn
			}
			continue
		}
		for j, v := range gr {
			switch {
			case v > 0:
				xr[j] += size
			case v < 0:
				xr[j] -= size
			}
		}
	}
}

// randomStart adds to each row of x a point drawn uniformly from the ball
// of radius eps: uniform in the cube for LInf; for L2 a Gaussian
// direction with radius eps·u^(1/n).
func randomStart(x *adjoint.Tensor, norm Norm, eps float64, rng *rand.Rand) {
	b, n := rows("attack", x)
	for r := range b {
		xr := x.Data[r*n : (r+1)*n]
		if norm == LInf {
			for j := range xr {
				xr[j] += eps * (2*rng.Float64() - 1)
			}
			continue
		}
		d := make([]float64, n)
		dn := 0.0
		for j := range d {
			d[j] = rng.NormFloat64()
			dn = math.Hypot(dn, d[j])
		}
		rad := eps * math.Pow(rng.Float64(), 1/float64(n))
		for j := range xr {
			xr[j] += rad * d[j] / dn
		}
	}
}

// Project moves each row of adv into the ball of radius eps around the
// same row of x, then clips every element to [lo, hi]. For LInf this is
// the exact Euclidean projection onto the intersection; for L2 it is the
// projection onto the ball followed by clipping, which ends inside both
// sets (with x in the box, clipping shrinks every |adv_i − x_i|) though
// not always at the nearest point of their intersection.
func Project(adv, x *adjoint.Tensor, norm Norm, eps, lo, hi float64) {
	if !adjoint.SameShape(adv, x) {
		panic(fmt.Sprintf("explain: Project: shapes %v and %v", adv.Shape, x.Shape))
	}
	b, n := rows("Project", x)
	for r := range b {
		ar, xr := adv.Data[r*n:(r+1)*n], x.Data[r*n:(r+1)*n]
		if norm == L2 {
			dn := 0.0
			for j := range ar {
				dn = math.Hypot(dn, ar[j]-xr[j])
			}
			if dn > eps {
				for j := range ar {
					ar[j] = xr[j] + (ar[j]-xr[j])*(eps/dn)
				}
			}
		} else {
			for j := range ar {
				ar[j] = min(max(ar[j], xr[j]-eps), xr[j]+eps)
			}
		}
		for j := range ar {
			ar[j] = min(max(ar[j], lo), hi)
		}
	}
}

// Perturbation returns, for each row, the norm of adv − x (LInf or L2)
// and whether every element of adv lies in [lo, hi]: what an attack must
// respect.
func Perturbation(adv, x *adjoint.Tensor, norm Norm, lo, hi float64) (size []float64, inBox []bool) {
	b, n := rows("Perturbation", x)
	size, inBox = make([]float64, b), make([]bool, b)
	for r := range b {
		ar, xr := adv.Data[r*n:(r+1)*n], x.Data[r*n:(r+1)*n]
		inBox[r] = true
		for j := range ar {
			d := math.Abs(ar[j] - xr[j])
			if norm == L2 {
				size[r] = math.Hypot(size[r], d)
			} else {
				size[r] = max(size[r], d)
			}
			inBox[r] = inBox[r] && ar[j] >= lo && ar[j] <= hi
		}
	}
	return size, inBox
}
