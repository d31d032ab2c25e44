//! A real `tmpfs` mounted for a test's lifetime, to put a collector's log on a small disk that
//! really fills. Mounting needs root, as CI runs.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A `tmpfs` mounted at `path`; unmounted when dropped.
pub struct Tmpfs {
    pub path: PathBuf,
}

impl Tmpfs {
    /// Mounts a `tmpfs` of `size` (`1m`, `2m`…) at `path`, creating the folder; fails the test
    /// with a clear message when it cannot (not root).
    pub fn mount(path: &Path, size: &str) -> Tmpfs {
        std::fs::create_dir_all(path).expect("mount point");
        let output = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(path)
            .output()
            .expect("run mount");
        assert!(
            output.status.success(),
            "this test mounts a tmpfs as the collector's log disk and needs root (CI runs as root): {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Tmpfs {
            path: path.to_path_buf(),
        }
    }
}

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.path).status();
    }
}
