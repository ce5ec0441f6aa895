// Package adjoint computes exact derivatives of numerical programs by the
// adjoint-state method.
//
// It has two levels. Flat functions on []float64 (the Func interface) serve
// hot paths and user-supplied models. Traced tensor programs, written with
// this package's operations on *Var values, are differentiated in reverse
// mode (Grad, VJP), forward mode (JVP) and to any order, because every
// primitive's derivative rules are themselves written with differentiable
// operations.
package adjoint
