// An example script: Director calls main(config, context) on every run and records what it returns.
module.exports.main = async (config, context) => {
  console.log(`hello from task ${context.taskId} (${context.trigger})`);
  return { hello: (config && config.name) || 'world', at: new Date().toISOString() };
};
