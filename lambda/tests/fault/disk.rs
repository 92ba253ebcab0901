//! The disks the diskspace mode fills.

use chaoslab_etl::fault::disk::BYTES_PER_MB;
use chaoslab_etl::fault::{Disk, DiskError, LAMBDA_TMP_BYTES, MemoryDisk, TmpDisk};

#[tokio::test]
async fn the_memory_disk_holds_lambdas_512_mb_and_then_fails_like_enospc() {
    let disk = MemoryDisk::new();
    assert_eq!(disk.capacity(), LAMBDA_TMP_BYTES);
    disk.fill(512).await.unwrap();
    assert_eq!(disk.used(), 512 * BYTES_PER_MB);
    let error = disk.fill(100).await.unwrap_err();
    assert!(matches!(error, DiskError::NoSpace { .. }));
    assert!(
        error.to_string().contains("no space left on device"),
        "{error}"
    );
    assert_eq!(
        disk.used(),
        LAMBDA_TMP_BYTES,
        "what fits stays written, as with dd"
    );

    disk.clear();
    assert_eq!(disk.used(), 0);
    disk.fill(1).await.unwrap();
}

#[tokio::test]
async fn the_tmp_disk_writes_files_of_n_mb_that_stay() {
    let directory = tempfile::tempdir().unwrap();
    let disk = TmpDisk::new(directory.path());
    disk.fill(2).await.unwrap();
    disk.fill(1).await.unwrap();
    let mut sizes: Vec<u64> = std::fs::read_dir(directory.path())
        .unwrap()
        .map(|entry| {
            let entry = entry.unwrap();
            assert!(
                entry
                    .file_name()
                    .to_string_lossy()
                    .starts_with("diskspace-failure-")
            );
            entry.metadata().unwrap().len()
        })
        .collect();
    sizes.sort_unstable();
    assert_eq!(sizes, [BYTES_PER_MB, 2 * BYTES_PER_MB]);
}

#[tokio::test]
async fn the_tmp_disk_reports_a_missing_directory_as_an_io_error() {
    let directory = tempfile::tempdir().unwrap();
    let disk = TmpDisk::new(directory.path().join("missing"));
    let error = disk.fill(1).await.unwrap_err();
    assert!(matches!(error, DiskError::Io { .. }), "{error:?}");
}
