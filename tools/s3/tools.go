//go:build tools

// Package tools pins versitygw (Apache-2.0), the S3-compatible gateway the
// backup tests run against with its posix backend (objects are plain files in
// a folder). test/support/s3.ts builds it from here. The blank import keeps
// the requirement in go.mod and go.sum; the build tag keeps this file out of
// every ordinary build.
package tools

import (
	_ "github.com/versity/versitygw/cmd/versitygw"
)
