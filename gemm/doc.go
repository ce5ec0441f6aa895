// Package gemm offers adjointkit's matrix product to gonum users.
//
// Gonum's mat package multiplies through whatever float64 BLAS is
// installed with blas64.Use; by default that is gonum's own pure-Go
// implementation. Installing this package's Implementation replaces its
// Dgemm, the general matrix product behind mat.Dense.Mul and the blocked
// LAPACK routines, by the blocked, vectorised kernel the adjoint core uses
// (AVX-512 or AVX2+FMA assembly where the CPU has them, portable Go
// elsewhere), while every other BLAS routine stays gonum's:
//
//	blas64.Use(gemm.Implementation{})
//
// This is opt-in: nothing in adjointkit installs it, because blas64.Use
// changes a process-wide setting that belongs to the program, not to a
// library. Results agree with gonum's to rounding (the summation order
// differs) and do not depend on GOMAXPROCS.
//
// The package lives at the module's root rather than beside the adjoint
// core because it is a general numerical tool with no tie to automatic
// differentiation: a gonum program can use it without importing anything
// else from adjointkit.
package gemm
