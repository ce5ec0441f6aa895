package metalearn

import (
	"fmt"
	"math"

	"github.com/adjointkit/adjointkit/adjoint"
)

// IMAML is implicit MAML (Rajeswaran, Finn, Kakade and Levine 2019). Each
// task adapts θ by solving the proximal inner problem
//
//	φ*(θ) = argmin_φ  L_inner(φ) + (λ/2)‖φ − θ‖²
//
// approximately, by InnerSteps steps of gradient descent from φ = θ. At the
// solution ∇L_inner(φ*) + λ(φ* − θ) = 0, and the implicit function theorem
// gives the meta-gradient without differentiating through the steps:
//
//	dL_outer(φ*)/dθ = (I + H/λ)⁻¹ ∇L_outer(φ*),  H = ∇²L_inner(φ*),
//
// computed by adjoint.ImplicitVJP with conjugate gradients on
// Hessian-vector products (H + λI must be positive definite: choose λ
// larger than the most negative curvature). Memory is that of one gradient,
// whatever the number of inner steps.
type IMAML struct {
	// Lambda is the proximal strength λ; it must be positive.
	Lambda float64
	// InnerLR is the step size of the inner gradient descent; it must be
	// positive (and below 2/(λ + largest curvature) to converge).
	InnerLR float64
	// InnerSteps is the number of inner steps; zero means 10.
	InnerSteps int
	// CG configures the conjugate-gradient solve; nil means its defaults.
	CG *adjoint.KrylovSettings
}

// MetaGrad returns the mean outer loss at the approximate inner solutions
// and the implicit meta-gradient, with the total conjugate-gradient
// iterations and the largest relative inner residual
// ‖∇L_inner(φ) + λ(φ − θ)‖/‖∇L_inner(φ)‖. A CG solve that fails is an error
// wrapping adjoint.ErrNotConverged. It panics if Lambda or InnerLR is not
// positive or tasks is empty.
func (m IMAML) MetaGrad(params []*adjoint.Tensor, tasks []Task) (MetaResult, error) {
	if !(m.Lambda > 0) || !(m.InnerLR > 0) {
		panic(fmt.Sprintf("metalearn: IMAML.Lambda and InnerLR must be positive, got %v and %v", m.Lambda, m.InnerLR))
	}
	if len(tasks) == 0 {
		panic("metalearn: MetaGrad needs at least one task")
	}
	steps := m.InnerSteps
	if steps == 0 {
		steps = 10
	}
	l := adjoint.LayoutOf(params...)
	theta := l.Pack(nil, params...)
	res := MetaResult{Grad: make([]*adjoint.Tensor, len(params))}
	gflat := make([]float64, len(theta))
	w := 1 / float64(len(tasks))
	for t, task := range tasks {
		if task.Inner == nil || task.Outer == nil {
			panic(fmt.Sprintf("metalearn: task %d needs Inner and Outer losses", t))
		}
		th := constants(params)
		prox := func(ps []*adjoint.Var) *adjoint.Var {
			var reg *adjoint.Var
			for i, p := range ps {
				d := adjoint.Sum(adjoint.Square(adjoint.Sub(p, th[i])))
				if reg == nil {
					reg = d
				} else {
					reg = adjoint.Add(reg, d)
				}
			}
			return adjoint.Add(task.Inner(ps), adjoint.Scale(reg, m.Lambda/2))
		}
		phi, err := Adapt(params, prox, m.InnerLR, steps, nil)
		if err != nil {
			return res, fmt.Errorf("task %d: %w", t, err)
		}
		ps := leaves(phi)
		outer := task.Outer(ps)
		if err := finite(steps, "outer loss", outer.Value().Data); err != nil {
			return res, fmt.Errorf("task %d: %w", t, err)
		}
		res.Loss += w * outer.Item()
		ubar := l.Pack(nil, adjoint.Grad(outer, ps...)...)
		F := &proxResidual{inner: task.Inner, l: l, lambda: m.Lambda}
		u := l.Pack(nil, phi...)
		thetabar := make([]float64, len(theta))
		ir, err := adjoint.ImplicitVJP(thetabar, F, u, theta, ubar, &adjoint.ImplicitSettings{Solver: adjoint.SolverCG, Krylov: m.CG})
		res.CGIterations += ir.Iterations
		if err != nil {
			return res, fmt.Errorf("metalearn: task %d: implicit meta-gradient: %w", t, err)
		}
		gi := F.grad(u)
		var gn float64
		for _, v := range gi {
			gn += v * v
		}
		if gn > 0 {
			res.MaxInnerResidual = max(res.MaxInnerResidual, ir.FNorm/math.Sqrt(gn))
		}
		for j, v := range thetabar {
			gflat[j] += w * v
		}
	}
	copy(res.Grad, l.Unpack(gflat))
	return res, nil
}

// proxResidual is F(φ, θ) = ∇L_inner(φ) + λ(φ − θ), the optimality
// condition of the proximal inner problem, on flat vectors.
type proxResidual struct {
	inner  func(ps []*adjoint.Var) *adjoint.Var
	l      adjoint.Layout
	lambda float64
}

var _ adjoint.Residual = (*proxResidual)(nil)

// grad returns ∇L_inner(u), flat.
func (f *proxResidual) grad(u []float64) []float64 {
	ps := leaves(f.l.Views(u))
	return f.l.Pack(nil, adjoint.Grad(f.inner(ps), ps...)...)
}

// Eval computes r = ∇L_inner(u) + λ(u − θ).
func (f *proxResidual) Eval(r []float64, u, theta []float64) {
	g := f.grad(u)
	for i := range r {
		r[i] = g[i] + f.lambda*(u[i]-theta[i])
	}
}

// VJPU accumulates ubar += (H + λI) w (the operator is symmetric).
func (f *proxResidual) VJPU(ubar []float64, u, _ []float64, w []float64) {
	ps := leaves(f.l.Views(u))
	gs := adjoint.GradGraph(f.inner(ps), ps...)
	ws := f.l.Views(w)
	var dot *adjoint.Var
	for i, g := range gs {
		d := adjoint.Dot(g, adjoint.Const(ws[i]))
		if dot == nil {
			dot = d
		} else {
			dot = adjoint.Add(dot, d)
		}
	}
	hw := f.l.Pack(nil, adjoint.Grad(dot, ps...)...)
	for i := range ubar {
		ubar[i] += hw[i] + f.lambda*w[i]
	}
}

// VJPTheta accumulates thetabar += −λ w.
func (f *proxResidual) VJPTheta(thetabar []float64, _, _ []float64, w []float64) {
	for i := range thetabar {
		thetabar[i] -= f.lambda * w[i]
	}
}
