//! `load seed`: `bench-seed.toml` with generated TIM accounts and Feishu users, the names the
//! scenarios use, so that they are already there when roster starts.

use toml::{Table, Value};

const BENCH_SEED: &str = include_str!("../../../bench-seed.toml");

#[derive(clap::Args)]
pub struct Args {
    /// TIM accounts `load_0`.. of the main app.
    #[arg(long, default_value_t = 10_000)]
    tim_accounts: u64,
    /// Feishu users `load_0`.. of the tenant.
    #[arg(long, default_value_t = 1000)]
    feishu_users: u64,
}

/// The first table of the array of tables at `path`.
fn first<'a>(table: &'a mut Table, path: &[&str]) -> &'a mut Table {
    let mut table = table;
    let (last, parents) = path.split_last().expect("a path");
    for name in parents {
        table = table[*name].as_table_mut().expect("a table");
    }
    let array = table[*last].as_array_mut().expect("an array of tables");
    array[0].as_table_mut().expect("a table")
}

pub fn print(args: &Args) {
    let mut seed: Table = BENCH_SEED.parse().expect("bench-seed.toml parses");
    let accounts = (0..args.tim_accounts).map(|i| Value::from(format!("load_{i}")));
    let accounts = Value::Array(accounts.collect());
    first(&mut seed, &["tim", "apps"]).insert("accounts".into(), accounts);
    let tenant = first(&mut seed, &["feishu", "tenants"]);
    let users = tenant["users"].as_array_mut().expect("users");
    for i in 0..args.feishu_users {
        let mut user = Table::new();
        user.insert("user_id".into(), format!("load_{i}").into());
        user.insert("name".into(), format!("load {i}").into());
        users.push(user.into());
    }
    print!("{}", toml::to_string(&seed).expect("seed serializes"));
}
