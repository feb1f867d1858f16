//! `run`/`create` flags → the engine's `CreateOptions` (validated into a spec by the engine).
use skiff_engine::CreateOptions;

use crate::cli::RunArgs;

pub fn create_options(args: &RunArgs) -> CreateOptions {
    CreateOptions {
        image: args.image.clone(),
        command: args.command.clone(),
        entrypoint: args.entrypoint.clone(),
        env: args.process.env.clone(),
        env_file: args.process.env_file.clone(),
        unsetenv: args.unsetenv.clone(),
        unsetenv_all: args.unsetenv_all,
        workdir: args.process.workdir.clone(),
        user: args.process.user.clone(),
        hostname: args.hostname.clone(),
        volume: args.volume.clone(),
        tmpfs: args.tmpfs.clone(),
        read_only: args.read_only,
        cap_add: args.cap_add.clone(),
        cap_drop: args.cap_drop.clone(),
        privileged: args.privileged,
        security_opt: args.security_opt.clone(),
        network: args.network.clone(),
        ip: args.ip.clone(),
        mac_address: args.mac_address.clone(),
        network_alias: args.network_alias.clone(),
        publish: args.publish.clone(),
        publish_all: args.publish_all,
        dns: args.dns.clone(),
        dns_search: args.dns_search.clone(),
        dns_option: args.dns_option.clone(),
        add_host: args.add_host.clone(),
        no_hosts: args.no_hosts,
        label: args.label.clone(),
        init: args.init,
        stop_signal: args.stop_signal.clone(),
        stop_timeout: args.stop_timeout,
        rm: args.rm,
        interactive: args.interactive,
        tty: args.tty,
        pids_limit: args.pids_limit,
        memory: args.memory.clone(),
        cpus: args.cpus,
        restart: args.restart.clone(),
    }
}
