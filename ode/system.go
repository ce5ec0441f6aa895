package ode

import "gonum.org/v1/gonum/mat"

// System is the right-hand side of an ordinary differential equation
//
//	dy/dt = f(t, y, p)
//
// with state y of length n and parameters p of length np.
//
// Derivatives are optional capabilities found by type assertion: VJPer
// (needed, or else emulated, by the adjoint methods), JVPer (forward
// sensitivities), Jacobianer and ParamJacobianer (the stiff solver and
// fallbacks), TimeDeriver (non-autonomous stiff problems) and SecondOrderer
// (exact second derivatives where a method needs them). A System without
// them still works: the missing derivatives are taken by finite differences
// (gonum's diff/fd), which costs more evaluations and is accurate to about
// 1e-8 relative. Traced derives every capability exactly from a right-hand
// side written once with the adjoint package's operations.
//
// Implementations must not retain or modify t, y or p, must be deterministic
// and must accept being called with any y the integrator produces.
type System interface {
	// Dims returns the state dimension n and the number of parameters np.
	Dims() (n, np int)
	// Eval writes f(t, y, p) to dst (length n).
	Eval(dst []float64, t float64, y, p []float64)
}

// VJPer is an optional capability of a System: vector-Jacobian products.
type VJPer interface {
	// VJP accumulates ybar += (∂f/∂y)ᵀ v and pbar += (∂f/∂p)ᵀ v at
	// (t, y, p). Either destination may be nil when it is not wanted.
	VJP(ybar, pbar []float64, t float64, y, p, v []float64)
}

// JVPer is an optional capability of a System: Jacobian-vector products.
type JVPer interface {
	// JVP writes dst = (∂f/∂y)·ydot + (∂f/∂p)·pdot at (t, y, p),
	// overwriting dst. pdot may be nil, meaning zero.
	JVP(dst []float64, t float64, y, p, ydot, pdot []float64)
}

// Jacobianer is an optional capability of a System: the dense Jacobian of f
// with respect to the state, used by the stiff solver.
type Jacobianer interface {
	// Jacobian writes ∂f/∂y at (t, y, p) to dst, an n×n matrix whose entry
	// (i, j) is ∂fᵢ/∂yⱼ.
	Jacobian(dst *mat.Dense, t float64, y, p []float64)
}

// ParamJacobianer is an optional capability of a System: the dense
// Jacobian of f with respect to the parameters.
type ParamJacobianer interface {
	// ParamJacobian writes ∂f/∂p at (t, y, p) to dst, an n×np matrix.
	ParamJacobian(dst *mat.Dense, t float64, y, p []float64)
}

// TimeDeriver is an optional capability of a System: the partial derivative
// ∂f/∂t, which Rosenbrock methods need for non-autonomous systems. An
// autonomous system can implement it by clearing dst, saving the
// finite-difference evaluation otherwise made once per step.
type TimeDeriver interface {
	// TimeDeriv writes ∂f/∂t at (t, y, p) to dst.
	TimeDeriv(dst []float64, t float64, y, p []float64)
}

// SecondOrderer is an optional capability of a System: directional second
// derivatives, the derivatives of the VJP and of the JVP along a direction
// (dt, dy, dp) of the arguments (t, y, p). They are needed by the discrete
// adjoint of the Rosenbrock solver (which differentiates the Jacobian inside
// each step), by the stiff backsolve and forward-sensitivity methods (whose
// augmented Jacobians contain them), by the exact time derivative of the
// adjoint fields, and by the second derivatives of the ODE solve op (Op).
// Without this capability they are taken by central differences of VJPs or
// JVPs (about 1e-10 relative). Traced implements it exactly.
type SecondOrderer interface {
	// VJPTangent accumulates the derivative of the VJP along (dt, dy, dp):
	//
	//	ybar += d/dε (∂f/∂y)ᵀw,  pbar += d/dε (∂f/∂p)ᵀw  at (t+ε·dt, y+ε·dy, p+ε·dp), ε = 0,
	//
	// that is ∇_y and ∇_p of wᵀ(∂f/∂t·dt + ∂f/∂y·dy + ∂f/∂p·dp). dy and
	// dp may be nil (zero); either destination may be nil.
	VJPTangent(ybar, pbar []float64, t float64, y, p, w []float64, dt float64, dy, dp []float64)
	// JVPTangent writes the derivative of the JVP along (dt, dy, dp):
	//
	//	dst = d/dε [(∂f/∂y)·ydot + (∂f/∂p)·pdot]  at (t+ε·dt, y+ε·dy, p+ε·dp), ε = 0.
	//
	// pdot, dy and dp may be nil (zero).
	JVPTangent(dst []float64, t float64, y, p, ydot, pdot []float64, dt float64, dy, dp []float64)
}
