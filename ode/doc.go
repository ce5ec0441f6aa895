// Package ode integrates ordinary differential equations and computes exact
// gradients of functionals of their solutions by forward sensitivities and
// by continuous and discrete adjoint methods.
//
// # Pieces chosen independently
//
// As in diffrax, a computation is assembled from independent parts:
//
//   - a System: the right-hand side f(t, y, p), with optional derivative
//     capabilities (VJPer, JVPer, Jacobianer, ParamJacobianer, TimeDeriver,
//     SecondOrderer) found by type assertion. Traced derives all of them
//     exactly from an f written once with the adjoint package's operations;
//     anything missing is taken by finite differences (gonum diff/fd);
//   - a Solver: an explicit Runge–Kutta Tableau (Euler, Heun, RK4 with fixed
//     steps; BS3, DP5, Tsit5 adaptive, with dense output) or the L-stable
//     Rosenbrock method Rodas4 for stiff problems (one Jacobian and one
//     gonum LU factorisation per step). Tableaus are data: package
//     variables driven by one generic step;
//   - Settings: tolerances (scalar or per component), fixed or adaptive
//     steps with a PIController and Hairer's automatic initial step, output
//     times, dense output, stops, a finite step limit;
//   - a Cost: terminal, integral and observation-time terms (Terminal,
//     Integral, Observations), each with its gradients;
//   - a Sensitivity method: Forward, Backsolve, Interpolating or Discrete.
//
// Traced derives a System's derivatives from a right-hand side written
// with adjoint operations; it evaluates that code on tracked values in every
// call (adjoint.Record), so a right-hand side that differentiates its own
// arguments computes the same function wherever it is used.
//
// Solve integrates; Evaluate returns a cost; Gradient returns a cost with
// dG/dp and dG/dy₀ and the statistics of both passes.
//
// # The solve as an operation
//
// Op puts a solve inside a traced program of package adjoint: y₀ and θ go
// in as Vars, the states at requested times (and optionally the integral
// of a running cost) come out as a Var, and any loss written with adjoint
// operations can follow — a misfit of some components, a neural vector
// field's parameters packed with adjoint.Layout, several solves in one
// objective. Reverse mode through the op runs the chosen sensitivity method
// from what the forward solve kept (a gradient costs what Gradient costs);
// forward mode integrates the forward sensitivities of one direction; and
// the op's derivative rules are themselves operations, so that second
// derivatives are exact: adjoint.HVPArgs and adjoint.HessianArgs give
// Hessian-vector products and Hessians of ODE functionals with respect to
// parameters and initial state by solving the tangent system forwards and
// its adjoint backwards (forward over adjoint, as CVODES's
// cvsHessian_ASA_FSA), which makes Newton's method on an ODE fit a few
// lines (see ExampleOp_newton).
//
// # Fitting a model to data
//
// The ready path is package physics: physics.Estimation states a
// least-squares problem on any System — which parameters and initial
// values are unknown, which components are observed at which times, an
// optional Tikhonov term — and its Loss returns the misfit with its adjoint
// gradient; physics.Minimize runs gonum's L-BFGS on it (see Example_fit).
// LeastSquaresOf is the misfit of observed components as a Cost for
// Gradient, and Op serves fits that need a loss of one's own.
//
// # Which sensitivity method
//
// Forward integrates the tangent-linear equations: cost proportional to the
// number of parameters plus states, no storage; best for few parameters.
// The adjoint methods cost one backward solve whatever the number of
// parameters. Interpolating (CVODES's approach) stores checkpoints and
// recomputes each interval with dense output while the adjoint runs
// backwards: accurate and robust, also on stiff problems when the backward
// solve uses Rodas4. Backsolve stores nothing but re-integrates y backwards
// and fails or loses accuracy on problems that are unstable backwards in
// time (stiff, dissipative, chaotic). Discrete differentiates the computed
// solution itself, step by step, with the accepted step sizes held fixed:
// its gradient is exact for the numerical solution, which is what an
// optimiser of the discrete model wants.
//
// # Chaotic systems: shadowing
//
// For a chaotic system the gradient of an average over a finite window
// grows like exp(λ₁T) with the window (the leading Lyapunov exponent λ₁):
// Gradient computes it exactly, and it is useless as the derivative of the
// long-time average ⟨J⟩, which is a smooth function of the parameters.
// Shadow computes d⟨J⟩/dp instead, with the bounded tangent trajectory
// that shadows the perturbed system, by least-squares shadowing (LSS: the
// whole tangent trajectory from a KKT system whose Schur complement is
// block-tridiagonal, solved by banded Cholesky in time linear in the number
// of steps; tangent or adjoint form) or its non-intrusive variant (NILSS:
// as many homogeneous tangents as unstable directions and a small least-
// squares problem between segments). Both average several windows and
// return the statistical error with the estimate, and return ErrShortWindow,
// ErrTransient or ErrUnresolved where they do not apply. On a system that
// is not uniformly hyperbolic (Lorenz-63 is not) the shadowing derivative
// can differ by a little from the response of ⟨J⟩ (2% for Lorenz-63).
//
// # Events
//
// SolveEvents locates the roots of event functions g(t, y, p) = 0 on the
// dense output (with a direction filter; terminal events stop the solve),
// and EventGradient differentiates a cost evaluated at the event, including
// the motion of the event time itself, dt*/dθ = −(∂g/∂θ + ∂g/∂y·∂y/∂θ)/ġ,
// with any sensitivity method: "where does the projectile land" is a
// differentiable question.
//
// # Errors
//
// Numerical failure — step-size underflow, the step limit, a non-finite
// value, a singular iteration matrix, a tolerance below float64's reach —
// is returned as an *Error that states the time, the step size and the
// reason and wraps one of ErrStepSize, ErrMaxSteps, ErrNonFinite,
// ErrSingular and ErrTolerance. An explicit method on a stiff problem
// reaches the (finite, default 100000) step limit quickly and its error
// suggests a stiff solver. A solve that fails inside a derivative pass
// through an Op yields NaN and is reported by Op.Err. Misuse, such as
// slices of the wrong length, panics with an "ode: " message.
//
// # Verification
//
// The tests reproduce SUNDIALS CVODES's Lotka–Volterra adjoint example to
// about 1e-8 relative with every solver and method, and its
// cvsHessian_ASA_FSA example (value, gradient and Hessian) to the digits it
// prints; they compute the stiff Robertson gradients and compare them with
// finite differences, measure every tableau's order and dense-output order,
// check the discrete adjoint against finite differences of the discrete
// solution, and check the op's derivatives against Gradient, against each
// other (⟨ȳ, J·u⟩ both ways; Hessians forward over adjoint, reverse over
// adjoint and forward over forward) and against finite differences. The
// shadowing methods reproduce the exact derivatives of a long-time average
// on a limit cycle (where only the time dilation gets the period's change
// right) and at a stable fixed point, agree with each other on Lorenz-63,
// and their KKT solves agree with dense ones.
package ode
