//go:build !amd64 || purego

package kernel

// available lists the kernels this build can run: the portable one only.
func available() []*microKernel { return []*microKernel{portable} }
