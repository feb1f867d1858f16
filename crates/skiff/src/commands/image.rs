//! Image commands.
use std::fs::File;
use std::io::{IsTerminal, Read};

use anyhow::{Context, Result, bail};
use chrono::Utc;
use skiff_engine::{
    Change, CommitOptions, Engine, ErrorKind, HistoryEntry, ImageFilter, ImportOptions,
    ManifestFormat, SaveTarget,
};

use super::Exit;
use crate::cli::{
    CommitArgs, HistoryArgs, ImagePruneArgs, ImagesArgs, ImportArgs, LoadArgs, NameArg, RmiArgs,
    SaveArgs, TagArgs, UntagArgs,
};
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

pub fn commit(engine: &mut Engine, args: &CommitArgs) -> Result<i32> {
    let options = CommitOptions {
        changes: args
            .change
            .iter()
            .map(|c| Change::parse(c))
            .collect::<Result<_, _>>()?,
        message: args.message.clone(),
        author: args.author.clone(),
        pause: args.pause.unwrap_or(false),
        format: ManifestFormat::parse(&args.format)?,
    };
    let report = engine.commit_container(&args.container, args.image.as_deref(), &options)?;
    if !args.quiet {
        eprintln!("Getting image source signatures");
        if let Some(layer) = report.image.layers.last() {
            eprintln!("Copying blob {layer}");
        }
        eprintln!("Copying config sha256:{}", report.id());
        eprintln!("Writing manifest to image destination");
    }
    write_iidfile(args.iidfile.as_deref(), report.id())?;
    println!("{}", report.id());
    Ok(0)
}

/// `--iidfile`: the image ID as `sha256:<hex>`, written whole or not at all.
pub fn write_iidfile(path: Option<&std::path::Path>, id: &str) -> Result<()> {
    let Some(path) = path else { return Ok(()) };
    let temporary = path.with_extension(format!("skiff-tmp-{}", std::process::id()));
    std::fs::write(&temporary, format!("sha256:{id}"))
        .and_then(|()| std::fs::rename(&temporary, path))
        .with_context(|| format!("writing {}", path.display()))
}

pub fn list(engine: &Engine, args: &ImagesArgs) -> Result<i32> {
    let filter = ImageFilter::parse(&args.filter)?;
    let mut images = filter.apply(engine.list_images()?)?;
    if !args.all {
        let mut shown = Vec::with_capacity(images.len());
        for image in images {
            if !engine.is_intermediate(&image)? {
                shown.push(image);
            }
        }
        images = shown;
    }
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
    let sort = args.sort.as_deref().unwrap_or("created");
    if let Some(format) = &args.format
        && format::is_json(format)
    {
        let mut values: Vec<_> = images.iter().map(|i| i.list_json()).collect();
        sort_image_rows(&mut values, sort)?;
        print!(
            "{}",
            format::formatted(Some(format), &values)?.unwrap_or_default()
        );
        return Ok(0);
    }
    let mut values: Vec<_> = images
        .iter()
        .flat_map(|i| i.template_rows(now, args.no_trunc))
        .collect();
    sort_image_rows(&mut values, sort)?;
    if let Some(format) = &args.format {
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
    let mut rows = Vec::new();
    if !args.noheading {
        rows.push(header);
    }
    let field =
        |row: &serde_json::Value, key: &str| row[key].as_str().unwrap_or_default().to_string();
    for row in &values {
        let mut line = format!("{}\t{}", field(row, "Repository"), field(row, "Tag"));
        if args.digests {
            line.push('\t');
            line.push_str(&field(row, "Digest"));
        }
        line.push_str(&format!(
            "\t{}\t{}\t{}",
            field(row, "ID"),
            field(row, "CreatedSince"),
            field(row, "Size")
        ));
        rows.push(line);
    }
    if !rows.is_empty() {
        println!("{}", format::align(&rows));
    }
    Ok(0)
}

/// `images --sort`: Podman's keys; created is newest first, the others ascending.
fn sort_image_rows(rows: &mut [serde_json::Value], key: &str) -> Result<()> {
    let text =
        |row: &serde_json::Value, field: &str| row[field].as_str().unwrap_or_default().to_string();
    match key {
        "created" => rows.sort_by_key(|r| std::cmp::Reverse(r["Created"].as_i64().unwrap_or(0))),
        "id" => rows.sort_by_key(|r| text(r, "Id")),
        "repository" => rows.sort_by_key(|r| text(r, "Repository")),
        "tag" => rows.sort_by_key(|r| text(r, "Tag")),
        "size" => rows.sort_by_key(|r| r["VirtualSize"].as_u64().unwrap_or(0)),
        other => bail!(
            "invalid option for --sort {other:?}: options are created, id, repository, size or tag"
        ),
    }
    Ok(())
}

pub fn tag(engine: &mut Engine, args: &TagArgs) -> Result<i32> {
    for target in &args.targets {
        engine.tag_image(&args.image, target)?;
    }
    Ok(0)
}

pub fn untag(engine: &mut Engine, args: &UntagArgs) -> Result<i32> {
    // By ID: the name given may be among those that go.
    let image = engine.image(&args.image)?;
    let names = if args.names.is_empty() {
        image.image.names.clone()
    } else {
        args.names.clone()
    };
    for name in &names {
        engine.untag_image(image.id(), name)?;
    }
    Ok(0)
}

pub fn remove(engine: &mut Engine, args: &RmiArgs) -> Result<i32> {
    let names = if args.all {
        // Oldest first, as Podman goes through its store.
        let mut images = engine.list_images()?;
        images.sort_by_key(|i| i.image.created);
        images.into_iter().map(|i| i.id().to_string()).collect()
    } else if args.images.is_empty() {
        bail!("image name or ID must be specified");
    } else {
        args.images.clone()
    };
    // As Podman: every name untagged, then every image deleted, then the errors.
    let (mut untagged, mut deleted, mut errors) = (Vec::new(), Vec::new(), Vec::new());
    for name in &names {
        let removed = if args.all {
            engine.remove_image_entirely(name, args.force)
        } else {
            engine.remove_image(name, args.force)
        };
        match removed {
            Ok(removal) => {
                untagged.extend(removal.untagged);
                deleted.extend(removal.deleted);
            }
            // Podman: --force implies --ignore.
            Err(e) if e.is_no_such_image() && (args.ignore || args.force) => {}
            Err(e) => errors.push(e),
        }
    }
    for name in untagged {
        println!("Untagged: {name}");
    }
    for id in deleted {
        println!("Deleted: {id}");
    }
    match errors.as_slice() {
        [] => Ok(0),
        [one] => {
            eprintln!("Error: {one}");
            Ok(one.removal_exit_code())
        }
        [.., last] => {
            // Go's multierror, as Podman prints several.
            eprintln!("Error: {} errors occurred:", errors.len());
            for error in &errors {
                eprintln!("\t* {error}");
            }
            Ok(last.removal_exit_code())
        }
    }
}

pub fn exists(engine: &Engine, args: &NameArg) -> Result<i32> {
    match engine.image(&args.name) {
        Ok(_) => Ok(0),
        Err(e) if e.kind() == ErrorKind::NotFound => Err(Exit(1).into()),
        Err(err) => Err(err.into()),
    }
}

pub fn save(engine: &Engine, args: &SaveArgs) -> Result<i32> {
    let target = match &args.output {
        Some(path) => SaveTarget::Path(path),
        None if std::io::stdout().is_terminal() => {
            bail!("refusing to save to terminal. Use -o flag or redirect")
        }
        None => SaveTarget::Stdout,
    };
    engine.save_images(&args.images, &args.format, target)?;
    Ok(0)
}

pub fn load(engine: &mut Engine, args: &LoadArgs) -> Result<i32> {
    if args.input.is_none() && std::io::stdin().is_terminal() {
        bail!("cannot read from terminal, use command-line redirection or the --input flag");
    }
    let loaded = engine.load_images(args.input.as_deref())?;
    if !args.quiet {
        for report in &loaded {
            if report.image.names.is_empty() {
                println!("Loaded image: sha256:{}", report.id());
            }
            for name in &report.image.names {
                println!("Loaded image: {name}");
            }
        }
    }
    Ok(0)
}

pub fn history(engine: &Engine, args: &HistoryArgs) -> Result<i32> {
    let entries = engine.image_history(&args.image)?;
    let now = Utc::now();
    let id = |entry: &HistoryEntry| match &entry.id {
        Some(id) if args.no_trunc => format!("sha256:{id}"),
        Some(id) => id.chars().take(12).collect(),
        None => "<missing>".to_string(),
    };
    if args.quiet {
        for entry in &entries {
            println!("{}", id(entry));
        }
        return Ok(0);
    }
    let rows: Vec<serde_json::Value> = entries
        .iter()
        .map(|entry| {
            let mut value = entry.json();
            let created = match (entry.created, args.human) {
                (Some(created), true) => {
                    format!("{} ago", skiff_engine::human_duration(now, created))
                }
                // Go's RFC 3339 of the local time, as Podman prints it: seconds, Z for UTC.
                (Some(created), false) => {
                    let local = created.with_timezone(&chrono::Local);
                    if local.offset().local_minus_utc() == 0 {
                        created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                    } else {
                        local.to_rfc3339_opts(chrono::SecondsFormat::Secs, false)
                    }
                }
                (None, _) => String::new(),
            };
            let created_by = if args.no_trunc || entry.created_by.chars().count() <= 45 {
                entry.created_by.clone()
            } else {
                format!(
                    "{}...",
                    entry.created_by.chars().take(42).collect::<String>()
                )
            };
            if let serde_json::Value::Object(map) = &mut value {
                map.insert("ID".into(), id(entry).into());
                map.insert("Created".into(), created.into());
                map.insert("CreatedBy".into(), created_by.into());
                map.insert(
                    "Size".into(),
                    if args.human {
                        skiff_engine::human_size(entry.size).into()
                    } else {
                        entry.size.to_string().into()
                    },
                );
                map.insert("Comment".into(), entry.comment.clone().into());
                if let Some(created) = entry.created {
                    let since = format!("{} ago", skiff_engine::human_duration(now, created));
                    map.insert("CreatedSince".into(), since.into());
                    map.insert("CreatedAt".into(), skiff_engine::go_time(created).into());
                }
            }
            value
        })
        .collect();
    if let Some(format) = &args.format {
        if format::is_json(format) {
            let values: Vec<_> = entries.iter().map(HistoryEntry::json).collect();
            println!("{}", format::json(&values)?);
        } else {
            print!("{}", format::render(format, &rows)?);
        }
        return Ok(0);
    }
    print!(
        "{}",
        format::table_with_header(
            "ID\tCREATED\tCREATED BY\tSIZE\tCOMMENT",
            "{{.ID}}\t{{.Created}}\t{{.CreatedBy}}\t{{.Size}}\t{{.Comment}}",
            &rows
        )?
    );
    Ok(0)
}

pub fn prune(engine: &mut Engine, args: &ImagePruneArgs) -> Result<i32> {
    if !args.force {
        let what = if args.all {
            "all images not used by any container"
        } else {
            "all dangling images"
        };
        if !super::confirm(&format!("This command removes {what}."))? {
            return Ok(0);
        }
    }
    for id in engine.prune_images(args.all)? {
        println!("{id}");
    }
    Ok(0)
}
