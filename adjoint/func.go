package adjoint

// Func is a differentiable function on flat float64 slices: the shape that
// ODE right-hand sides, recurrence steps and user-supplied models take on
// hot paths.
//
// Implementations must not retain or modify x, and VJP must accumulate into
// xbar rather than overwrite it, so that several contributions can be summed
// without temporaries.
type Func interface {
	// Dims returns the input and output lengths.
	Dims() (in, out int)
	// Eval computes y = f(x).
	Eval(y, x []float64)
	// VJP accumulates xbar += J(x)ᵀ ybar.
	VJP(xbar, x, ybar []float64)
}

// JVPer is an optional capability of a Func: a Jacobian-vector product.
type JVPer interface {
	// JVP computes ydot = J(x) xdot (overwriting ydot).
	JVP(ydot, x, xdot []float64)
}
