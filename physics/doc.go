// Package physics provides differentiable physical models — ordinary
// differential equations with exact, hand-written vector-Jacobian and
// Jacobian-vector products — and the machinery to solve inverse problems on
// them with gonum/optimize fed by adjoint gradients.
//
// # Models
//
// Each model is an ode.System that also implements ode.VJPer and ode.JVPer
// (the heat equation, Lotka–Volterra and Robertson also ode.Jacobianer, for
// the stiff solver and the stiff adjoints), so every sensitivity method of
// package ode applies to it without finite differences:
//
//   - Pendulum: a damped, driven pendulum (length, damping, drive);
//   - SpringChain: N unit masses joined by N springs, one stiffness each;
//   - LotkaVolterra: the predator–prey model, its rates in either of two
//     orders (LVOrder);
//   - Robertson: the stiff chemical kinetics of Robertson (1966);
//   - Lorenz63 and Lorenz96: the chaotic convection and "weather" models;
//   - Projectile: a point mass with quadratic air drag, launched with a
//     speed and an angle (LaunchState), landing at the Ground event;
//   - Heat1D: the 1-D heat equation by the method of lines, with a
//     diffusivity per cell face and a source per cell, and HeatSteady, its
//     steady state as an adjoint.Residual for the implicit adjoint.
//
// The parameters of each model, their order in p and their units are listed
// on its type. Units are SI unless the model is dimensionless (Lotka–Volterra,
// Lorenz). NewProblem assembles an ode.Problem and returns an error for bad
// configurations: wrong lengths, non-finite values, a zero-length time
// window, and parameter values the model rejects (a negative pendulum
// length, a negative stiffness).
//
// # Inverse problems
//
// Estimation is a least-squares fit of some parameters and some initial
// state components of a model to observations of some state components at
// given times, with optional Tikhonov regularisation; its Loss returns the
// misfit and its gradient from one ode.Gradient call (any sensitivity
// method, by default the interpolating adjoint). Minimize runs gonum's
// L-BFGS (or any gonum/optimize method) on such a loss and reports the
// iterations, the number of gradient evaluations and the loss history.
//
// The projectile's landing point is differentiated through the event time
// by ode.EventGradient, and the steady heat problem through
// adjoint.ImplicitVJP.
//
// # Errors
//
// Bad configurations (user input) are returned errors whose messages start
// with "physics: "; misuse (slices of the wrong length passed to a model's
// methods) panics with a "physics: " message.
package physics
