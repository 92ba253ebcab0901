//! `chaoslab convert`: the ETL function's transform, run on local files.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chaoslab_etl::transform::{MAX_DOCUMENT_BYTES, TransformError, json_to_csv};

/// Why one input could not be converted.
#[derive(Debug, thiserror::Error)]
pub enum ConvertError {
    /// The input could not be read.
    #[error("{name}: cannot read: {source}")]
    Read {
        /// The file name, or `<stdin>`.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The input is not a document the transform accepts.
    #[error("{name}: {source}")]
    Transform {
        /// The file name, or `<stdin>`.
        name: String,
        /// What is wrong with the document.
        source: TransformError,
    },
    /// The CSV could not be written to the output.
    #[error("cannot write CSV for {name}: {source}")]
    Write {
        /// The file name, or `<stdin>`.
        name: String,
        /// The I/O error.
        source: std::io::Error,
    },
}

/// Converts each file (standard input for none, or for `-`) and writes its CSV to `output`.
/// Each failure is reported on `errors` as `chaoslab: <file>: <reason>`. Returns the number of
/// inputs that failed.
pub fn convert_files(files: &[PathBuf], output: &mut impl Write, errors: &mut impl Write) -> usize {
    let stdin = [PathBuf::from("-")];
    let inputs = if files.is_empty() { &stdin[..] } else { files };
    let mut failures = 0;
    for path in inputs {
        if let Err(error) = convert_one(path, output) {
            failures += 1;
            let _ = writeln!(errors, "chaoslab: {error}");
            // Writing to a closed pipe (`chaoslab convert … | head`) will not get better.
            if matches!(error, ConvertError::Write { .. }) {
                break;
            }
        }
    }
    failures
}

fn convert_one(path: &Path, output: &mut impl Write) -> Result<(), ConvertError> {
    let name = if path == Path::new("-") {
        "<stdin>".to_owned()
    } else {
        path.display().to_string()
    };
    let input = read_input(path, &name)?;
    let csv = json_to_csv(&input).map_err(|source| ConvertError::Transform {
        name: name.clone(),
        source,
    })?;
    output
        .write_all(&csv)
        .and_then(|()| output.flush())
        .map_err(|source| ConvertError::Write { name, source })
}

/// Reads a file or standard input. A file's size is checked before it is read, and standard
/// input is read only one byte past the transform's limit, so a huge input is refused without
/// being read whole.
fn read_input(path: &Path, name: &str) -> Result<Vec<u8>, ConvertError> {
    let read_error = |source| ConvertError::Read {
        name: name.to_owned(),
        source,
    };
    let limit = u64::try_from(MAX_DOCUMENT_BYTES).unwrap_or(u64::MAX);
    let mut input = Vec::new();
    if path == Path::new("-") {
        let mut stdin = std::io::stdin().lock();
        (&mut stdin)
            .take(limit + 1)
            .read_to_end(&mut input)
            .map_err(read_error)?;
        return Ok(input);
    }
    let file = std::fs::File::open(path).map_err(read_error)?;
    let size = file.metadata().map_err(read_error)?.len();
    if size > limit {
        return Err(ConvertError::Transform {
            name: name.to_owned(),
            source: TransformError::TooLarge {
                size: usize::try_from(size).unwrap_or(usize::MAX),
                limit: MAX_DOCUMENT_BYTES,
            },
        });
    }
    file.take(limit + 1)
        .read_to_end(&mut input)
        .map_err(read_error)?;
    Ok(input)
}
