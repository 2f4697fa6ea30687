//! `roster exec`: a command run against a roster of its own.

use super::*;

/// `roster exec` starts a roster of its own for the command and exits with its status, on
/// temporary SQLite data or on the given PostgreSQL database.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_runs_a_command_against_its_own_roster() {
    exec_runs_a_command(None).await;
    if let Some(database) = common::postgres_database("exec_runs_a_command").await {
        exec_runs_a_command(Some(database.url().to_owned())).await;
    }
}

async fn exec_runs_a_command(database: Option<String>) {
    let roster = env!("CARGO_BIN_EXE_roster");
    let script = format!(
        "test -n \"$ROSTER_WECOM_CORP_ID\" && test -n \"$ROSTER_FEISHU_APP_SECRET\" && \
         test -n \"$ROSTER_TIM_SECRET_KEY\" && {roster} spaces && exit 7"
    );
    let output = tokio::task::spawn_blocking(move || {
        let database = database.map(|url| vec!["--database".to_string(), url]);
        Command::new(env!("CARGO_BIN_EXE_roster"))
            .arg("exec")
            .args(database.unwrap_or_default())
            .args(["--", "sh", "-c", &script])
            .env_remove("ROSTER_URL")
            .env_remove("ROSTER_ADMIN_TOKEN")
            .output()
            .unwrap()
    })
    .await
    .unwrap();
    assert_eq!(output.status.code(), Some(7), "{output:?}");
    let spaces = String::from_utf8(output.stdout).unwrap();
    assert!(spaces.contains(&format!("wecom/{CORP}")), "{spaces}");
    assert!(spaces.contains(&format!("tim/{SDKAPPID}")), "{spaces}");
}
