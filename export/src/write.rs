//! Columns into one zstd Parquet file in memory, a single row group (a day's sessions are a few
//! hundred thousand rows at most, a few megabytes compressed).

use std::sync::Arc;

use parquet::basic::{Compression, ZstdLevel};
use parquet::data_type::{ByteArrayType, DoubleType, Int32Type, Int64Type};
use parquet::errors::ParquetError;
use parquet::file::properties::WriterProperties;
use parquet::file::writer::SerializedFileWriter;
use parquet::schema::parser::parse_message_type;

use crate::ExportError;
use crate::columns::{Column, Values};
use crate::schema;

/// The zstd level of the exported files: warehouses read them a few times, so a dense level is
/// worth its cost once.
pub const EXPORT_ZSTD_LEVEL: i32 = 9;

pub(crate) fn sessions_file(columns: &[Column]) -> Result<Vec<u8>, ExportError> {
    write_file(schema::SESSIONS, columns).map_err(|err| ExportError::Parquet {
        file: "sessions.parquet",
        message: err.to_string(),
    })
}

pub(crate) fn page_views_file(columns: &[Column]) -> Result<Vec<u8>, ExportError> {
    write_file(schema::PAGE_VIEWS, columns).map_err(|err| ExportError::Parquet {
        file: "page_views.parquet",
        message: err.to_string(),
    })
}

fn write_file(message: &str, columns: &[Column]) -> Result<Vec<u8>, ParquetError> {
    let schema = Arc::new(parse_message_type(message)?);
    let properties = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::try_new(EXPORT_ZSTD_LEVEL)?))
        .set_created_by(format!("heatpipe {}", env!("CARGO_PKG_VERSION")))
        .build();
    let mut writer = SerializedFileWriter::new(Vec::new(), schema, Arc::new(properties))?;
    let mut row_group = writer.next_row_group()?;
    let mut leaves = columns.iter();
    while let Some(mut column_writer) = row_group.next_column()? {
        let column = leaves.next().ok_or_else(|| {
            ParquetError::General("the schema has more leaves than the export's columns".into())
        })?;
        let (def, rep) = (column.def_levels.as_deref(), column.rep_levels.as_deref());
        match &column.values {
            Values::Int32(values) => {
                column_writer
                    .typed::<Int32Type>()
                    .write_batch(values, def, rep)?;
            }
            Values::Int64(values) => {
                column_writer
                    .typed::<Int64Type>()
                    .write_batch(values, def, rep)?;
            }
            Values::Double(values) => {
                column_writer
                    .typed::<DoubleType>()
                    .write_batch(values, def, rep)?;
            }
            Values::Bytes(values) => {
                column_writer
                    .typed::<ByteArrayType>()
                    .write_batch(values, def, rep)?;
            }
        }
        column_writer.close()?;
    }
    if leaves.next().is_some() {
        return Err(ParquetError::General(
            "the export has more columns than the schema has leaves".into(),
        ));
    }
    row_group.close()?;
    writer.into_inner()
}
