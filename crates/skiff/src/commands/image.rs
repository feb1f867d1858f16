//! Image commands.
use std::fs::File;
use std::io::Read;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use skiff_engine::{Change, Engine, EngineError, ImportOptions};

use super::{Exit, for_each};
use crate::cli::{ImagesArgs, ImportArgs, NameArg, RmiArgs, TagArgs, UntagArgs};
use crate::format;

pub fn import(engine: &mut Engine, args: &ImportArgs) -> Result<i32> {
    let options = ImportOptions {
        changes: args
            .change
            .iter()
            .map(|c| Change::parse(c))
            .collect::<Result<_, _>>()?,
        message: args.message.clone(),
    };
    let reader: Box<dyn Read> = if args.path == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(File::open(&args.path).with_context(|| format!("open {}", args.path))?)
    };
    let report = engine.import_image(reader, args.reference.as_deref(), &options)?;
    println!("{}", report.id());
    Ok(0)
}

pub fn list(engine: &Engine, args: &ImagesArgs) -> Result<i32> {
    let mut images = engine.list_images()?;
    if let Some(name) = &args.name {
        let wanted = engine.image(name)?;
        images.retain(|i| i.id() == wanted.id());
    }
    let now = Utc::now();
    if args.quiet {
        let mut seen = Vec::new();
        for image in &images {
            let id = if args.no_trunc {
                format!("sha256:{}", image.id())
            } else {
                image.id().chars().take(12).collect()
            };
            if !seen.contains(&id) {
                println!("{id}");
                seen.push(id);
            }
        }
        return Ok(0);
    }
    if let Some(format) = &args.format {
        let values: Vec<_> = if format::is_json(format) {
            images.iter().map(|i| i.list_json()).collect()
        } else {
            images.iter().flat_map(|i| i.template_rows(now)).collect()
        };
        print!(
            "{}",
            format::formatted(Some(format), &values)?.unwrap_or_default()
        );
        return Ok(0);
    }
    let mut header = "REPOSITORY\tTAG".to_string();
    if args.digests {
        header.push_str("\tDIGEST");
    }
    header.push_str("\tIMAGE ID\tCREATED\tSIZE");
    let mut rows = vec![header];
    for image in &images {
        for row in image.template_rows(now) {
            let id = if args.no_trunc {
                format!("sha256:{}", image.id())
            } else {
                row["ID"].as_str().unwrap_or_default().to_string()
            };
            let mut line = format!(
                "{}\t{}",
                row["Repository"].as_str().unwrap_or_default(),
                row["Tag"].as_str().unwrap_or_default()
            );
            if args.digests {
                line.push('\t');
                line.push_str(row["Digest"].as_str().unwrap_or_default());
            }
            line.push_str(&format!(
                "\t{id}\t{}\t{}",
                row["CreatedSince"].as_str().unwrap_or_default(),
                row["Size"].as_str().unwrap_or_default()
            ));
            rows.push(line);
        }
    }
    println!("{}", format::align(&rows));
    Ok(0)
}

pub fn tag(engine: &mut Engine, args: &TagArgs) -> Result<i32> {
    for target in &args.targets {
        engine.tag_image(&args.image, target)?;
    }
    Ok(0)
}

pub fn untag(engine: &mut Engine, args: &UntagArgs) -> Result<i32> {
    let names = if args.names.is_empty() {
        engine.image(&args.image)?.image.names.clone()
    } else {
        args.names.clone()
    };
    for name in &names {
        engine.untag_image(&args.image, name)?;
    }
    Ok(0)
}

pub fn remove(engine: &mut Engine, args: &RmiArgs) -> Result<i32> {
    let names = if args.all {
        engine
            .list_images()?
            .into_iter()
            .map(|i| i.id().to_string())
            .collect()
    } else if args.images.is_empty() {
        bail!("image name or ID must be specified");
    } else {
        args.images.clone()
    };
    Ok(for_each(
        &names,
        |name| {
            let lines = engine.remove_image(name, args.force)?;
            Ok(Some(lines.join("\n")))
        },
        |err| match err.downcast_ref::<EngineError>() {
            // Podman's rmi: 1 no such image, 2 image in use, 125 otherwise.
            Some(e) if e.is_no_such_image() => 1,
            Some(EngineError::ImageInUse(..)) => 2,
            _ => 125,
        },
    ))
}

pub fn exists(engine: &Engine, args: &NameArg) -> Result<i32> {
    match engine.image(&args.name) {
        Ok(_) => Ok(0),
        Err(e) if e.is_no_such_image() => Err(Exit(1).into()),
        Err(err) => Err(err.into()),
    }
}
