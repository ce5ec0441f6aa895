//go:build !noavx512

package kernel

const noAVX512 = false
