/** The From / Until fields of an audit filter form, filled from the page's address. */
export function TimeRangeFields({ params }: { params: URLSearchParams }) {
  return (
    <>
      <label>
        From
        <input type="datetime-local" name="from" defaultValue={params.get('from') ?? ''} />
      </label>
      <label>
        Until
        <input type="datetime-local" name="to" defaultValue={params.get('to') ?? ''} />
      </label>
    </>
  );
}
