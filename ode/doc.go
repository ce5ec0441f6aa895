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
// Solve integrates; Evaluate returns a cost; Gradient returns a cost with
// dG/dp and dG/dy₀ and the statistics of both passes.
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
// value, a singular iteration matrix — is returned as an *Error that states
// the time, the step size and the reason and wraps one of ErrStepSize,
// ErrMaxSteps, ErrNonFinite and ErrSingular. An explicit method on a stiff
// problem reaches the (finite, default 100000) step limit quickly and its
// error suggests a stiff solver. Misuse, such as slices of the wrong
// length, panics with an "ode: " message.
//
// # Verification
//
// The tests reproduce SUNDIALS CVODES's Lotka–Volterra adjoint example to
// about 1e-8 relative with every solver and method, compute the stiff
// Robertson gradients and compare them with finite differences, measure
// every tableau's order and dense-output order, and check the discrete
// adjoint against finite differences of the discrete solution.
package ode
