package blob

import (
	"archive/zip"
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"path"
	"path/filepath"
	"strings"

	"github.com/openfc/openfc/internal/fc"
)

// Limits of a code package once unpacked (issue #2, spec §7).
type Limits struct {
	MaxUnzippedBytes int64 // 0 means fc.MaxUnzippedCodeBytes
	MaxEntries       int   // 0 means fc.MaxZipEntries
}

// Check verifies that zipData is a well-formed zip that is safe to unpack
// under a root folder: every entry is readable with a correct CRC, no path
// leaves the root, no symlink points outside it, and the unpacked size and
// entry count stay under the limits. Problems are 400 InvalidArgument
// errors that name the entry.
func Check(zipData []byte, lim Limits) error {
	if lim.MaxUnzippedBytes == 0 {
		lim.MaxUnzippedBytes = fc.MaxUnzippedCodeBytes
	}
	if lim.MaxEntries == 0 {
		lim.MaxEntries = fc.MaxZipEntries
	}
	zr, err := zip.NewReader(bytes.NewReader(zipData), int64(len(zipData)))
	if err != nil && !errors.Is(err, zip.ErrInsecurePath) {
		return fc.InvalidArgument("code.zipFile is not a valid zip archive: %v", err)
	}
	if len(zr.File) > lim.MaxEntries {
		return fc.InvalidArgument("code package has %d entries; the limit is %d", len(zr.File), lim.MaxEntries)
	}
	budget := lim.MaxUnzippedBytes
	for _, f := range zr.File {
		name := strings.TrimSuffix(f.Name, "/")
		if name == "" || !filepath.IsLocal(name) || strings.Contains(f.Name, "\\") {
			return fc.InvalidArgument("code package entry %q escapes the code folder: use relative paths without '..'", f.Name)
		}
		// The header's sizes can lie (zip bombs), so count what actually
		// decompresses, against what is left of the budget.
		n, err := readEntry(f, budget+1)
		if err != nil {
			return fc.InvalidArgument("code package entry %q is corrupt: %v", f.Name, err)
		}
		budget -= n
		if budget < 0 {
			return fc.InvalidArgument("code package unpacks to more than %d bytes", lim.MaxUnzippedBytes)
		}
		if f.Mode()&fs.ModeSymlink != 0 {
			target, err := symlinkTarget(f)
			if err != nil {
				return fc.InvalidArgument("code package symlink %q is corrupt: %v", f.Name, err)
			}
			if path.IsAbs(target) || !filepath.IsLocal(path.Join(path.Dir(name), target)) {
				return fc.InvalidArgument("code package symlink %q points outside the code folder (to %q)", f.Name, target)
			}
		}
	}
	return nil
}

func readEntry(f *zip.File, limit int64) (int64, error) {
	rc, err := f.Open()
	if err != nil {
		return 0, err
	}
	defer rc.Close()
	return io.Copy(io.Discard, io.LimitReader(rc, limit))
}

func symlinkTarget(f *zip.File) (string, error) {
	rc, err := f.Open()
	if err != nil {
		return "", err
	}
	defer rc.Close()
	b, err := io.ReadAll(io.LimitReader(rc, 4096))
	if err != nil {
		return "", fmt.Errorf("read link: %w", err)
	}
	return string(b), nil
}
